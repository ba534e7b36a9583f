CREATE TABLE IF NOT EXISTS product_embeddings (
    category      VARCHAR NOT NULL,
    product_id    VARCHAR NOT NULL,
    content_hash  VARCHAR NOT NULL,   -- re-embed only when this changes
    model         VARCHAR NOT NULL,
    embedding     FLOAT[] NOT NULL,   -- L2-normalised
    embedded_at   TIMESTAMP
);
