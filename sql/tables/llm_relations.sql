-- Relations parsed from factorization-prompt answers (REKI individual extraction).
CREATE TABLE IF NOT EXISTS llm_relations (
    category        VARCHAR NOT NULL,
    head_id         VARCHAR NOT NULL,
    factor          VARCHAR NOT NULL,
    relation        VARCHAR NOT NULL,
    tail_mention    VARCHAR NOT NULL,
    tail_kind       VARCHAR NOT NULL,   -- product | concept
    confidence      DOUBLE NOT NULL,
    rationale       VARCHAR,
    call_id         VARCHAR NOT NULL,   -- -> llm_calls
    model           VARCHAR NOT NULL,
    prompt_version  VARCHAR NOT NULL,
    extracted_at    TIMESTAMP
);
