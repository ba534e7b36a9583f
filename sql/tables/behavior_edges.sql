-- Relations mined from interactions (see sql/behavior_edges_build.sql for the definitions).
CREATE TABLE IF NOT EXISTS behavior_edges (
    src_id    VARCHAR NOT NULL,
    relation  VARCHAR NOT NULL,   -- co_purchased | next_item
    dst_id    VARCHAR NOT NULL,
    support   BIGINT NOT NULL,    -- users with the pair (co_purchased) / transitions (next_item)
    lift      DOUBLE,             -- observed / expected co-occurrence
    score     DOUBLE NOT NULL,    -- co_purchased: Jaccard; next_item: P(dst next | src)
    built_at  TIMESTAMP
);
