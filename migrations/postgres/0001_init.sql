-- dealbridge durable state (PostgreSQL). Times are BIGINT unix milliseconds (UTC), JSON is TEXT.
-- Keep this file and migrations/sqlite/0001_init.sql in step: the same store code runs on both.

-- One canonical entity (kind, entity_id) has one external id per system, plus the snapshot last
-- synced to/from that system (base for three-way merge and echo suppression).
CREATE TABLE bindings (
    system        TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    entity_id     TEXT    NOT NULL,
    external_id   TEXT    NOT NULL,
    snapshot      TEXT,
    snapshot_hash TEXT,
    synced_at     BIGINT  NOT NULL,
    PRIMARY KEY (system, kind, entity_id)
);
-- Reverse lookup (webhook/poll → entity) and the guarantee that one external record is bound once.
CREATE UNIQUE INDEX bindings_by_external ON bindings (system, kind, external_id);

-- Raw accepted input, stored before it is acknowledged; deduped per source.
CREATE TABLE inbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       TEXT    NOT NULL,
    dedupe_key   TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    received_at  BIGINT  NOT NULL,
    processed_at BIGINT,
    UNIQUE (source, dedupe_key)
);
CREATE INDEX inbox_unprocessed ON inbox (id) WHERE processed_at IS NULL;

-- Poll cursors (e.g. WooCommerce modified_after per system and entity).
CREATE TABLE cursors (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at BIGINT  NOT NULL
);

-- What was done to which entity, append-only.
CREATE TABLE journal (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT  NOT NULL,
    entity_kind TEXT    NOT NULL,
    entity_id   TEXT    NOT NULL,
    system      TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    external_id TEXT,
    job_id      BIGINT,
    detail      TEXT
);
CREATE INDEX journal_by_entity ON journal (entity_kind, entity_id, id);

-- Field-level conflicts found by the three-way merge; values are JSON text.
CREATE TABLE conflicts (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity_kind   TEXT    NOT NULL,
    entity_id     TEXT    NOT NULL,
    field         TEXT    NOT NULL,
    base          TEXT,
    ours          TEXT    NOT NULL,
    theirs        TEXT    NOT NULL,
    ours_system   TEXT    NOT NULL,
    theirs_system TEXT    NOT NULL,
    rule          TEXT    NOT NULL,
    chosen        TEXT,
    chosen_value  TEXT,
    reason        TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('open', 'resolved')),
    created_at    BIGINT  NOT NULL,
    resolved_at   BIGINT,
    resolved_by   TEXT
);
CREATE INDEX conflicts_by_state ON conflicts (state, id);
CREATE INDEX conflicts_by_entity ON conflicts (entity_kind, entity_id, state);

-- Durable job queue: one row per target write.
CREATE TABLE jobs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT    NOT NULL,
    target          TEXT    NOT NULL,
    coalesce_key    TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead', 'dropped')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    max_attempts    BIGINT  NOT NULL,
    coalesced       BIGINT  NOT NULL DEFAULT 0,
    run_at          BIGINT  NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    lease_token     BIGINT  NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_error_kind TEXT,
    drop_reason     TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    finished_at     BIGINT
);
-- Coalescing: at most one pending job per key (enqueue upserts on this partial index).
CREATE UNIQUE INDEX jobs_one_pending_per_key ON jobs (coalesce_key) WHERE state = 'pending';
-- Claim scans pending jobs in run_at order (id breaks ties); also finds running leases.
CREATE INDEX jobs_due ON jobs (state, run_at, id);
-- Per-key serialisation check in claim ("is another job of this key running?").
CREATE INDEX jobs_by_key ON jobs (coalesce_key, state);
-- Retention purge of finished jobs.
CREATE INDEX jobs_finished ON jobs (state, finished_at);
