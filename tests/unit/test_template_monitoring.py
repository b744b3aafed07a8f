"""template.yaml's monitoring block: the local cloud runs it (ignoring what it does not emulate),
and the CloudWatch dashboard body is valid JSON once CloudFormation substitutes it."""

from __future__ import annotations

import json
import re

from localcloud.template import TemplateLoader, read_yaml
from tests.support import PROJECT_DIR

TEMPLATE = PROJECT_DIR / "template.yaml"
MONITORING_TYPES = {"AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard", "AWS::SNS::Topic"}


def test_local_cloud_loads_the_template_with_alarms_dashboard_and_topic() -> None:
    loader = TemplateLoader([TEMPLATE])
    types = {res["Type"] for res in loader.resources.values()}
    assert types >= MONITORING_TYPES
    spec = loader.build({lid: f"arn:local:{lid}" for lid in loader.secrets()})
    notifier = spec.functions["NotifierFunction"]
    assert notifier.environment["ALERTS_SECRET_ARN"] == "arn:local:AlertsSecret"
    assert notifier.events == ()  # its SNS event is not an API route
    assert loader.secrets()["AlertsSecret"].seed == "alerts"


def test_every_alarm_notifies_the_alerts_topic_both_ways() -> None:
    resources = read_yaml(TEMPLATE)["Resources"]
    alarms = {
        k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    assert set(alarms) == {
        "P99LatencyAlarm",
        "ErrorRateAlarm",
        "QueueDepthAlarm",
        "WebhookFailuresAlarm",
    }
    for props in alarms.values():
        assert props["AlarmActions"] == [{"Ref": "AlertsTopic"}]
        assert props["OKActions"] == [{"Ref": "AlertsTopic"}]
        assert re.match(r"\[(critical|warning)\] ", props["AlarmDescription"])


def test_dashboard_body_is_json_after_substitution() -> None:
    resources = read_yaml(TEMPLATE)["Resources"]
    body = resources["MonitoringDashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    # ${Var} becomes a value; ${!Literal} becomes ${Literal}, as Fn::Sub does.
    text = re.sub(r"\$\{(?!!)[^}]*\}", "x", body).replace("${!", "${")
    widgets = json.loads(text)["widgets"]
    titles = {w["properties"]["title"] for w in widgets}
    assert {
        "Throughput (events/min)",
        "Queue depth",
        "Errors by type",
        "Lambda throttles",
    } <= titles
