CREATE TABLE IF NOT EXISTS interactions_rejected (
    user_id     VARCHAR,
    session_id  VARCHAR,
    product_id  VARCHAR,
    position    DOUBLE,
    ts          TIMESTAMP,
    reason      VARCHAR NOT NULL,
    source_file VARCHAR,
    source_row  BIGINT,
    source_line BIGINT,
    raw         VARCHAR           -- the record as read, JSON (or the unreadable line)
);
