-- The fused graph: one row per (src, relation, dst), with provenance.
CREATE TABLE IF NOT EXISTS pkg_edges (
    src_id          VARCHAR NOT NULL,
    relation        VARCHAR NOT NULL,
    dst_id          VARCHAR NOT NULL,
    dst_type        VARCHAR NOT NULL,  -- product | concept
    sources         VARCHAR[] NOT NULL,-- llm_individual | llm_interpreted | llm_collective | behavior
    weight          DOUBLE NOT NULL,   -- ranking weight (see sql/pkg_edges_build.sql)
    gate_score      DOUBLE,
    confidence      DOUBLE,
    support         BIGINT,
    lift            DOUBLE,
    rationale       VARCHAR,
    evidence        VARCHAR,           -- JSON: factors, call ids, cluster, behaviour counts
    model           VARCHAR,
    prompt_version  VARCHAR,
    built_at        TIMESTAMP
);
