-- Normalised catalog products, one partition per category (see core/catalog.py).
CREATE TABLE IF NOT EXISTS products (
    product_id     VARCHAR NOT NULL,
    title          VARCHAR NOT NULL,
    brand          VARCHAR,
    price          DOUBLE,
    category_path  VARCHAR,
    category       VARCHAR NOT NULL,   -- partition key: one level of category_path
    description    VARCHAR,
    content_hash   VARCHAR NOT NULL,   -- drives incremental re-embedding
    source_file    VARCHAR,
    ingested_at    TIMESTAMP
);
