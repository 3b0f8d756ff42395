-- Deal rows name the CRM product of a store order's line by its article: the 1C catalog entries
-- with that SKU are looked up per order, so the article needs an index on both tables.
CREATE INDEX catalog_products_by_sku ON catalog_products (system, sku);
CREATE INDEX catalog_offers_by_sku ON catalog_offers (system, sku);
