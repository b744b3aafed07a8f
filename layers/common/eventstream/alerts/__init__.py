"""CloudWatch alarm notifications: SNS messages in, Slack and PagerDuty Events API v2 out."""
