-- Normalised catalog products, one partition per category (see core/catalog.py).
CREATE TABLE IF NOT EXISTS products (
    product_id     VARCHAR NOT NULL,
    title          VARCHAR NOT NULL,
    brand          VARCHAR,
    price          DOUBLE,
    category_path  VARCHAR,
    category       VARCHAR NOT NULL,   -- partition key: one level of category_path
    description    VARCHAR,
    product_type   VARCHAR,            -- "eau de toilette", "body lotion" (core/product_type.py); NULL = unknown
    type_form      VARCHAR,            -- types whose listings are variants of one product share a form
    audience       VARCHAR,            -- men | women | unisex; NULL = not said
    content_hash   VARCHAR NOT NULL,   -- drives incremental re-embedding
    source_file    VARCHAR,
    parse_flags    VARCHAR,            -- optional values nulled on read, with why: "price: not a number ('call us')"
    ingested_at    TIMESTAMP
);
