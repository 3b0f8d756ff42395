-- Alert incidents (issue 11): one row per incident of an alert rule, open while resolved_at is
-- NULL. At most one open incident per key, so neither a restart nor a second process sharing
-- the database opens (and notifies) the same incident twice; its notification job is queued in
-- the same transaction that opens or resolves it. `since` is when the condition began (the
-- first job that went dead), `opened_at` when it was noticed. Resolved rows stay as the history.
CREATE TABLE alert_incidents (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         TEXT    NOT NULL,
    rule        TEXT    NOT NULL,
    summary     TEXT    NOT NULL,
    details     TEXT    NOT NULL,
    since       BIGINT  NOT NULL,
    opened_at   BIGINT  NOT NULL,
    resolved_at BIGINT
);
CREATE UNIQUE INDEX alert_incidents_one_open_per_key ON alert_incidents (key) WHERE resolved_at IS NULL;
