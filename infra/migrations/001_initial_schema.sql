-- Users and their topic permissions, from the seed design's schema.
-- Changes from the seed, each for a reason: timestamps are TIMESTAMPTZ and NOT NULL (a bare
-- TIMESTAMP loses the zone); an ACL row needs a user and goes with it (NOT NULL, ON DELETE
-- CASCADE); permission is one of the two values the auth service checks.

CREATE TABLE users (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    username      VARCHAR(255) UNIQUE NOT NULL,
    password_hash VARCHAR(255) NOT NULL,
    email         VARCHAR(255),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE topic_acl (
    id            SERIAL PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    topic_pattern VARCHAR(255) NOT NULL,  -- e.g. "sensor/*"
    permission    VARCHAR(50) NOT NULL CHECK (permission IN ('publish', 'subscribe')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX idx_acl_user ON topic_acl(user_id);
CREATE INDEX idx_acl_topic ON topic_acl(topic_pattern);
