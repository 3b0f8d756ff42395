-- Property values and images of the 1C catalog, and the classifier's property definitions
-- (PostgreSQL). Keep in step with migrations/sqlite/0003_catalog_properties.sql.
--
-- properties: JSON [{"id","value"}] in the order 1C sent them, one entry per value (a multi-valued
-- property repeats its id); `value` is as 1C wrote it: a text, a number, or the `ИдЗначения` of a
-- reference-book property (resolved through catalog_properties.variants when read back).
-- images: JSON ["import_files/…", …] (product `Картинка`, relative to the exchange directory).
-- Each part has its own hash and is replaced only when the file carries it (NULL: never given),
-- like the prices/stock of an offer: a changes-only or prices-only file that says nothing about
-- properties keeps the stored ones. An empty array and NULL mean the same: none.
ALTER TABLE catalog_products ADD COLUMN properties TEXT;
ALTER TABLE catalog_products ADD COLUMN properties_hash TEXT;
ALTER TABLE catalog_products ADD COLUMN images TEXT;
ALTER TABLE catalog_products ADD COLUMN images_hash TEXT;
ALTER TABLE catalog_offers ADD COLUMN properties TEXT;
ALTER TABLE catalog_offers ADD COLUMN properties_hash TEXT;

-- `Классификатор/Свойства`: kind is `ТипЗначений` as written (Строка, Число, Справочник, …; NULL
-- when the file does not say); variants is a JSON object {ИдЗначения: Значение} for a
-- `Справочник` property (`{}` otherwise).
CREATE TABLE catalog_properties (
    system       TEXT    NOT NULL,
    external_id  TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    kind         TEXT,
    variants     TEXT    NOT NULL,
    deleted      BIGINT  NOT NULL,
    content_hash TEXT    NOT NULL,
    updated_at   BIGINT  NOT NULL,
    PRIMARY KEY (system, external_id)
);
