-- The auth service: roles and state on users, refresh-token families, API keys, login failures
-- (lockout), OAuth identities and PKCE state, and the append-only audit log. Then the role the
-- functions connect as: it may read and write everything except changing the audit log.

ALTER TABLE users
    ADD COLUMN roles      TEXT[]      NOT NULL DEFAULT ARRAY['user']::TEXT[],
    ADD COLUMN disabled   BOOLEAN     NOT NULL DEFAULT false,
    ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- NULL for users who only ever sign in through an OAuth provider
    ALTER COLUMN password_hash DROP NOT NULL;

-- One grant per (user, pattern, permission): granting twice returns the existing entry.
CREATE UNIQUE INDEX uq_acl_user_pattern_permission ON topic_acl (user_id, topic_pattern, permission);

-- Opaque refresh tokens, stored as their SHA-256; each login starts a family, each refresh
-- spends one token and adds the next. A spent token presented again revokes the family.
CREATE TABLE refresh_tokens (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    family_id   UUID        NOT NULL,
    user_id     UUID        NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  CHAR(64)    NOT NULL UNIQUE,
    issued_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX idx_refresh_family ON refresh_tokens (family_id);
CREATE INDEX idx_refresh_user ON refresh_tokens (user_id);

-- API keys: shown once; the prefix is stored in clear to find and list a key, the rest hashed.
CREATE TABLE api_keys (
    id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name        VARCHAR(100) NOT NULL,
    prefix      VARCHAR(16)  NOT NULL UNIQUE,
    key_hash    CHAR(64)     NOT NULL,
    created_by  UUID REFERENCES users(id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ  NOT NULL DEFAULT now(),
    last_used_at TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ
);

-- Failed logins by the name tried (known or not, so lockout reveals nothing) and by source IP.
CREATE TABLE login_failures (
    id         BIGSERIAL PRIMARY KEY,
    username   VARCHAR(255) NOT NULL,
    source_ip  VARCHAR(64)  NOT NULL,
    failed_at  TIMESTAMPTZ  NOT NULL DEFAULT now()
);
CREATE INDEX idx_login_failures_username ON login_failures (username, failed_at);
CREATE INDEX idx_login_failures_ip ON login_failures (source_ip, failed_at);

-- Who a provider says a user is: one row per (provider, the provider's stable subject id).
CREATE TABLE oauth_identities (
    provider    VARCHAR(32)  NOT NULL,
    subject     VARCHAR(255) NOT NULL,
    user_id     UUID         NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    email       VARCHAR(255),
    created_at  TIMESTAMPTZ  NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, subject)
);
CREATE INDEX idx_oauth_identities_user ON oauth_identities (user_id);

-- An authorization request in flight: the state (hashed) and its PKCE verifier, used once.
CREATE TABLE oauth_states (
    state_hash    CHAR(64)     PRIMARY KEY,
    provider      VARCHAR(32)  NOT NULL,
    code_verifier VARCHAR(128) NOT NULL,
    redirect_uri  TEXT         NOT NULL,
    nonce         VARCHAR(128),
    created_at    TIMESTAMPTZ  NOT NULL DEFAULT now(),
    expires_at    TIMESTAMPTZ  NOT NULL
);

-- Append-only: the functions' role has no UPDATE/DELETE/TRUNCATE (below), and the trigger
-- refuses them for every role, owners included.
CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    occurred_at TIMESTAMPTZ  NOT NULL DEFAULT now(),
    action      VARCHAR(64)  NOT NULL,
    outcome     VARCHAR(16)  NOT NULL CHECK (outcome IN ('success', 'failure')),
    actor_id    VARCHAR(255),
    target_type VARCHAR(32),
    target_id   VARCHAR(255),
    source_ip   VARCHAR(64),
    user_agent  VARCHAR(512),
    request_id  VARCHAR(128),
    details     JSONB        NOT NULL DEFAULT '{}'::JSONB
);
CREATE INDEX idx_audit_time ON audit_log (occurred_at);
CREATE INDEX idx_audit_actor ON audit_log (actor_id, occurred_at);
CREATE INDEX idx_audit_target ON audit_log (target_id, occurred_at);
CREATE INDEX idx_audit_action ON audit_log (action, occurred_at);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- The functions' role. Roles are cluster-wide: another database of the same cluster may have
-- made it already, even at this moment.
DO $$
BEGIN
    CREATE ROLE eventstream_app NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;
GRANT USAGE ON SCHEMA public TO eventstream_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO eventstream_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO eventstream_app;
-- Tables of later migrations get the same rights; a migration revokes what it must.
ALTER DEFAULT PRIVILEGES IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO eventstream_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO eventstream_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM eventstream_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM eventstream_app;
