-- Every LLM relation with its tail linked to a product, a concept, or left unresolved, and why.
CREATE TABLE IF NOT EXISTS resolved_relations (
    category           VARCHAR NOT NULL,
    head_id            VARCHAR NOT NULL,
    factor             VARCHAR NOT NULL,
    relation           VARCHAR NOT NULL,
    tail_mention       VARCHAR NOT NULL,
    tail_kind          VARCHAR NOT NULL,
    confidence         DOUBLE NOT NULL,
    rationale          VARCHAR,
    call_id            VARCHAR NOT NULL,
    model              VARCHAR NOT NULL,
    prompt_version     VARCHAR NOT NULL,
    decision           VARCHAR NOT NULL,  -- product | concept | unresolved
    tail_id            VARCHAR,           -- product_id or concept_id
    resolution_score   DOUBLE,
    resolution_reason  VARCHAR NOT NULL,
    candidates         VARCHAR            -- JSON: top candidates with their scores
);
