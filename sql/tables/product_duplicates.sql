-- Catalog listings that look like the same item listed twice. Reported for review, never merged.
CREATE TABLE IF NOT EXISTS product_duplicates (
    category          VARCHAR NOT NULL,   -- partition of product_id
    product_id        VARCHAR NOT NULL,
    duplicate_of      VARCHAR NOT NULL,   -- the listing it duplicates (any category)
    cosine            DOUBLE NOT NULL,
    title_similarity  DOUBLE NOT NULL,
    reason            VARCHAR NOT NULL
);
