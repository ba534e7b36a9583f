CREATE TABLE IF NOT EXISTS interactions_rejected (
    user_id     VARCHAR,
    session_id  VARCHAR,
    product_id  VARCHAR,
    position    DOUBLE,
    ts          TIMESTAMP,
    reason      VARCHAR NOT NULL
);
