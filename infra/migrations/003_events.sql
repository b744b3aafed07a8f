-- Events as the core stores them, and the idempotency keys that make a retried publish safe.
-- `seq` is the cursor for ordered reads (per topic and overall). It is handed out at insert, and
-- two writers may commit out of seq order: a pull reader must not move its cursor past a seq whose
-- transaction may still be open (see the note in docs/protocol.md, "Ordering").

CREATE TABLE events (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              VARCHAR(30)  NOT NULL UNIQUE,  -- evt_ + 26-character ULID
    topic           VARCHAR(255) NOT NULL,
    payload         JSONB        NOT NULL,
    priority        SMALLINT     NOT NULL DEFAULT 5 CHECK (priority BETWEEN 0 AND 9),
    producer        VARCHAR(255) NOT NULL DEFAULT '',
    idempotency_key VARCHAR(255),
    node_id         VARCHAR(255) NOT NULL DEFAULT '',
    trace_header    VARCHAR(1024),
    created_at      TIMESTAMPTZ  NOT NULL,              -- when the core took it in
    stored_at       TIMESTAMPTZ  NOT NULL DEFAULT now() -- the transaction that made it durable
);
CREATE INDEX idx_events_topic_seq ON events (topic, seq);

-- (producer, key) -> the first event published with it. A key older than 24 hours may be taken
-- again (the insert overwrites it), so this is a table of its own and not a unique index on
-- events, whose rows must stay. The primary key makes a second claim wait for the first's
-- transaction, so concurrent writers and core nodes agree on one winner.
CREATE TABLE event_idempotency (
    producer        VARCHAR(255) NOT NULL,
    idempotency_key VARCHAR(255) NOT NULL,
    event_id        VARCHAR(30)  NOT NULL,
    created_at      TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (producer, idempotency_key)
);
CREATE INDEX idx_event_idempotency_created ON event_idempotency (created_at);
