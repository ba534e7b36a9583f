CREATE TABLE IF NOT EXISTS pkg_topk (
    src_id    VARCHAR NOT NULL,
    relation  VARCHAR NOT NULL,   -- '*' = any relation
    rank      INTEGER NOT NULL,
    dst_id    VARCHAR NOT NULL,
    weight    DOUBLE NOT NULL
);
