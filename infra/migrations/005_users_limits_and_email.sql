-- Per-caller rate limits, and email verification for OAuth linking.

-- Token buckets for per-caller rate limits, shared by every worker of every function: the row
-- lock taken by the one UPDATE that spends a token serialises concurrent requests.
CREATE TABLE rate_limit_buckets (
    bucket_key VARCHAR(300)     PRIMARY KEY,  -- e.g. "publish:<user id>"
    tokens     DOUBLE PRECISION NOT NULL,
    updated_at TIMESTAMPTZ      NOT NULL
);

-- A per-user limit (requests per minute) overriding the role and global defaults; NULL = none.
ALTER TABLE users ADD COLUMN rate_limit_per_minute INTEGER
    CHECK (rate_limit_per_minute IS NULL OR rate_limit_per_minute > 0);

-- Whether someone other than the user vouches for the email: an admin who set it, or an OAuth
-- provider that verified it. Only a verified email links an OAuth identity to a local user.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT false;
