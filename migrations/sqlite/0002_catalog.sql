-- The 1C catalog as last imported (SQLite). Keep in step with migrations/postgres/0002_catalog.sql.
-- Decimals (prices, quantities) are TEXT so nothing is ever rounded through a float; flags are
-- INTEGER 0/1; times are unix milliseconds. `content_hash` is the SHA-256 of the row's canonical
-- JSON: an import skips rows whose hash is unchanged, so re-importing the same files writes nothing.

CREATE TABLE catalog_groups (
    system       TEXT    NOT NULL,
    external_id  TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    parent_id    TEXT,
    deleted      INTEGER NOT NULL,
    content_hash TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (system, external_id)
);

CREATE TABLE catalog_price_types (
    system       TEXT    NOT NULL,
    external_id  TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    currency     TEXT,
    content_hash TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (system, external_id)
);

CREATE TABLE catalog_warehouses (
    system       TEXT    NOT NULL,
    external_id  TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    content_hash TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (system, external_id)
);

-- group_ids and barcodes are JSON arrays of strings.
CREATE TABLE catalog_products (
    system       TEXT    NOT NULL,
    external_id  TEXT    NOT NULL,
    sku          TEXT,
    name         TEXT    NOT NULL,
    group_ids    TEXT    NOT NULL,
    unit         TEXT,
    barcodes     TEXT    NOT NULL,
    deleted      INTEGER NOT NULL,
    active       INTEGER NOT NULL,
    content_hash TEXT    NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (system, external_id)
);

-- An offer is a product or one of its variants (`Ид#Ид`). Prices and stock may arrive in separate
-- files, so each part has its own hash and is replaced only when the file carries it (NULL: never
-- given). The parts live on the offer row as JSON arrays, not as child rows: they are always read
-- and replaced whole per offer, and 6 child rows per offer made up 60 % of an import's writes.
-- prices: [{"price_type_id","amount","currency","unit"}] by price type; stock:
-- [{"warehouse_id","quantity"}] by warehouse, warehouse_id "" being the total (a bare `Количество`).
-- Amounts and quantities are decimal strings. price_count/stock_count are the array lengths.
CREATE TABLE catalog_offers (
    system            TEXT    NOT NULL,
    external_id       TEXT    NOT NULL,
    product_id        TEXT    NOT NULL,
    characteristic_id TEXT,
    sku               TEXT,
    name              TEXT,
    barcodes          TEXT    NOT NULL,
    deleted           INTEGER NOT NULL,
    active            INTEGER NOT NULL,
    content_hash      TEXT    NOT NULL,
    prices            TEXT,
    price_count       INTEGER,
    prices_hash       TEXT,
    stock             TEXT,
    stock_count       INTEGER,
    stock_hash        TEXT,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (system, external_id)
);
CREATE INDEX catalog_offers_by_product ON catalog_offers (system, product_id);

-- Ids seen by a running import (scratch, deleted when the run ends): a full file deactivates
-- what its run did not see, without rewriting every unchanged row to stamp it.
CREATE TABLE catalog_seen (
    run_id      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    external_id TEXT NOT NULL,
    PRIMARY KEY (run_id, kind, external_id)
);
