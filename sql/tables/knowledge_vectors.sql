-- Per-product embedding of its accepted knowledge text, for downstream models.
CREATE TABLE IF NOT EXISTS knowledge_vectors (
    category        VARCHAR NOT NULL,
    product_id      VARCHAR NOT NULL,
    knowledge_text  VARCHAR NOT NULL,
    model           VARCHAR NOT NULL,
    vector          FLOAT[] NOT NULL
);
