-- A full 1C catalog that would deactivate more than `[exchange_1c] max_deactivate_share` of the
-- active products or offers is imported, but its deactivation is held here: exactly the rows it
-- would have deactivated, until `dealbridge import-1c --apply-held-deactivation` applies them (or
-- the next full catalog replaces the hold). Keep in step with migrations/sqlite/0008_held_deactivation.sql.
CREATE TABLE catalog_held_deactivation (
    system      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    external_id TEXT    NOT NULL,
    run_id      TEXT    NOT NULL,
    held_at     BIGINT NOT NULL,
    PRIMARY KEY (system, kind, external_id)
);
