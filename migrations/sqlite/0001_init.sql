-- dealbridge durable state (SQLite). Times are INTEGER unix milliseconds (UTC), JSON is TEXT.
-- Keep this file and migrations/postgres/0001_init.sql in step: the same store code runs on both.

-- One canonical entity (kind, entity_id) has one external id per system, plus the snapshot last
-- synced to/from that system (base for three-way merge and echo suppression).
CREATE TABLE bindings (
    system        TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    entity_id     TEXT    NOT NULL,
    external_id   TEXT    NOT NULL,
    snapshot      TEXT,
    snapshot_hash TEXT,
    synced_at     INTEGER NOT NULL,
    PRIMARY KEY (system, kind, entity_id)
);
-- Reverse lookup (webhook/poll → entity) and the guarantee that one external record is bound once.
CREATE UNIQUE INDEX bindings_by_external ON bindings (system, kind, external_id);

-- Raw accepted input, stored before it is acknowledged; deduped per source.
CREATE TABLE inbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    source       TEXT    NOT NULL,
    dedupe_key   TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    processed_at INTEGER,
    UNIQUE (source, dedupe_key)
);
CREATE INDEX inbox_unprocessed ON inbox (id) WHERE processed_at IS NULL;

-- Poll cursors (e.g. WooCommerce modified_after per system and entity).
CREATE TABLE cursors (
    name       TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- What was done to which entity, append-only.
CREATE TABLE journal (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    entity_kind TEXT    NOT NULL,
    entity_id   TEXT    NOT NULL,
    system      TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    external_id TEXT,
    job_id      INTEGER,
    detail      TEXT
);
CREATE INDEX journal_by_entity ON journal (entity_kind, entity_id, id);

-- Field-level conflicts found by the three-way merge; values are JSON text.
CREATE TABLE conflicts (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
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
    created_at    INTEGER NOT NULL,
    resolved_at   INTEGER,
    resolved_by   TEXT
);
CREATE INDEX conflicts_by_state ON conflicts (state, id);
CREATE INDEX conflicts_by_entity ON conflicts (entity_kind, entity_id, state);

-- Durable job queue: one row per target write.
CREATE TABLE jobs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT    NOT NULL,
    target          TEXT    NOT NULL,
    coalesce_key    TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'running', 'done', 'dead', 'dropped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    coalesced       INTEGER NOT NULL DEFAULT 0,
    run_at          INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    lease_token     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_error_kind TEXT,
    drop_reason     TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    finished_at     INTEGER
);
-- Coalescing: at most one pending job per key (enqueue upserts on this partial index).
CREATE UNIQUE INDEX jobs_one_pending_per_key ON jobs (coalesce_key) WHERE state = 'pending';
-- Claim scans pending jobs in run_at order (rowid = id breaks ties); also finds running leases.
CREATE INDEX jobs_due ON jobs (state, run_at);
-- Per-key serialisation check in claim ("is another job of this key running?").
CREATE INDEX jobs_by_key ON jobs (coalesce_key, state);
-- Retention purge of finished jobs.
CREATE INDEX jobs_finished ON jobs (state, finished_at);
