-- Fan-out: subscriptions (webhook or pull), one delivery row per (webhook subscription, event)
-- with every attempt's outcome, per-topic counts for GET /v1/topics, and the stream position
-- that makes cursors safe against out-of-order commits.

-- The stream order is (txid, seq): the transaction that stored the event, then its seq. A reader
-- only reads rows whose txid is below pg_snapshot_xmin(pg_current_snapshot()): every such
-- transaction has ended, and no transaction still to write can get a smaller txid, so nothing
-- can appear behind a cursor later. Ordering by seq alone cannot give that: seqs are handed out
-- before the transaction commits, so seq 10 may become visible after seq 11 (docs/protocol.md,
-- "Ordering"). The default gives every row of one transaction the same value, at no round trip.
ALTER TABLE events ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX idx_events_topic_txid_seq ON events (topic, txid, seq);
CREATE INDEX idx_events_txid_seq ON events (txid, seq);

CREATE TABLE subscriptions (
    id             UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id        UUID         NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    topic_pattern  VARCHAR(255) NOT NULL,
    -- The pattern as a POSIX regex, made by eventstream.subscriptions.models from the validated
    -- pattern, so the fan-out trigger matches topics in SQL exactly as topics.pattern_matches.
    topic_regex    VARCHAR(1024) NOT NULL,
    mode           VARCHAR(16)  NOT NULL CHECK (mode IN ('webhook', 'pull')),
    webhook_url    VARCHAR(2048),
    -- The Standard Webhooks secret (whsec_...) in clear: the core must recover it to sign every
    -- delivery, so it cannot be hashed. It is shown to the owner once, at creation, and no query
    -- that feeds an API answer selects it (eventstream.subscriptions.store). Erased on delete.
    signing_secret VARCHAR(128),
    created_at     TIMESTAMPTZ  NOT NULL DEFAULT now(),
    disabled_at    TIMESTAMPTZ,  -- deleted: no new deliveries, its pending ones failed
    CHECK ((mode = 'webhook') = (webhook_url IS NOT NULL)),
    CHECK (mode = 'pull' OR disabled_at IS NOT NULL OR signing_secret IS NOT NULL)
);
CREATE INDEX idx_subscriptions_user ON subscriptions (user_id, created_at, id);
CREATE INDEX idx_subscriptions_live_webhooks ON subscriptions (id)
    WHERE mode = 'webhook' AND disabled_at IS NULL;

-- One row per (webhook subscription, event). The core claims due rows with FOR UPDATE SKIP
-- LOCKED; a row is only claimed when no earlier row (by event_txid, event_seq) of the same
-- (subscription, topic) is pending or delivering, so each subscriber sees a topic in order.
CREATE TABLE webhook_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    subscription_id UUID         NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
    event_seq       BIGINT       NOT NULL,
    event_txid      xid8         NOT NULL,
    topic           VARCHAR(255) NOT NULL,
    status          VARCHAR(16)  NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivering', 'succeeded', 'failed')),
    attempts        INTEGER      NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ  NOT NULL DEFAULT now(),
    lease_until     TIMESTAMPTZ,  -- a delivering row whose node died is claimed again after it
    last_error      VARCHAR(1024),
    created_at      TIMESTAMPTZ  NOT NULL DEFAULT now(),
    finished_at     TIMESTAMPTZ,
    UNIQUE (subscription_id, event_seq)
);
-- The in-order check and the claim scan only ever look at unfinished rows.
CREATE INDEX idx_deliveries_open_order ON webhook_deliveries
    (subscription_id, topic, event_txid, event_seq) WHERE status IN ('pending', 'delivering');
CREATE INDEX idx_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'delivering');

-- Every attempt's outcome, kept after the delivery is settled.
CREATE TABLE webhook_attempts (
    id               BIGSERIAL PRIMARY KEY,
    delivery_id      BIGINT       NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt          INTEGER      NOT NULL,
    attempted_at     TIMESTAMPTZ  NOT NULL,
    duration_ms      DOUBLE PRECISION NOT NULL,
    http_status      INTEGER,        -- NULL when no answer came (refused, timeout, blocked)
    error            VARCHAR(1024),  -- NULL on success
    response_excerpt VARCHAR(1024),  -- the first 1 KB of the answer's body
    node_id          VARCHAR(255) NOT NULL DEFAULT ''
);
CREATE INDEX idx_attempts_delivery ON webhook_attempts (delivery_id, attempt);

-- Per-topic counts for GET /v1/topics without COUNT(*) over events, kept by the trigger below
-- in the transaction that stores the events. Each writer session adds to a shard row of its own
-- (its backend pid picks it): one row per topic would make every writer of a busy topic wait for
-- the previous one's commit. Read the totals from the view topic_stats.
CREATE TABLE topic_stat_shards (
    topic         VARCHAR(255) NOT NULL,
    shard         SMALLINT     NOT NULL,
    event_count   BIGINT       NOT NULL,
    last_event_at TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (topic, shard)
);
INSERT INTO topic_stat_shards (topic, shard, event_count, last_event_at)
    SELECT topic, 0, count(*), max(created_at) FROM events GROUP BY topic;
-- A filter on topic (WHERE topic > :after ORDER BY topic LIMIT n) is pushed into the grouping.
CREATE VIEW topic_stats AS
    SELECT topic, CAST(sum(event_count) AS BIGINT) AS event_count,
           max(last_event_at) AS last_event_at
    FROM topic_stat_shards GROUP BY topic;

-- After each INSERT statement on events (the core's batch is one statement): count the topics
-- and create the deliveries, in the same transaction, so an acked event has its deliveries and
-- its count or neither. Topics are upserted in name order so two sessions that share a shard
-- cannot deadlock.
CREATE FUNCTION events_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO topic_stat_shards AS ts (topic, shard, event_count, last_event_at)
    SELECT topic, pg_backend_pid() % 32, count(*), max(created_at)
    FROM new_events GROUP BY topic ORDER BY topic
    ON CONFLICT (topic, shard) DO UPDATE
        SET event_count = ts.event_count + EXCLUDED.event_count,
            last_event_at = GREATEST(ts.last_event_at, EXCLUDED.last_event_at);
    INSERT INTO webhook_deliveries (subscription_id, event_seq, event_txid, topic)
    SELECT s.id, e.seq, e.txid, e.topic
    FROM new_events e
    JOIN subscriptions s ON s.mode = 'webhook' AND s.disabled_at IS NULL
                        AND e.topic ~ s.topic_regex;
    RETURN NULL;
END
$$;

CREATE TRIGGER events_fan_out AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_events
    FOR EACH STATEMENT EXECUTE FUNCTION events_fan_out();
