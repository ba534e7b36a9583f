-- Catalog rows that could not become products, with the reason. Never a silent drop.
CREATE TABLE IF NOT EXISTS products_rejected (
    category     VARCHAR NOT NULL,   -- partition the row would have belonged to
    product_id   VARCHAR,
    source_file  VARCHAR,
    source_row   BIGINT,             -- record number in the file (1-based); NULL for an unreadable line
    source_line  BIGINT,             -- line in the file where the record starts
    reason       VARCHAR NOT NULL,
    raw          VARCHAR,            -- the row as read, JSON
    rejected_at  TIMESTAMP
);
