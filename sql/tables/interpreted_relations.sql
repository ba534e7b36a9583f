-- Behaviour interpreted by the LLM: one row per co-purchased pair asked "why together?"
-- (sql/interpreted_pairs.sql selects them; prompts/interpret_pair.j2 asks). A pair of two
-- categories is a row of each (answered once: the second comes from the ledger). No
-- product_id / head_id column on purpose: a row's products need not be its partition's, so
-- the catalog reconciliation removes rows by category only.
CREATE TABLE IF NOT EXISTS interpreted_relations (
    category        VARCHAR NOT NULL,
    a_id            VARCHAR NOT NULL,   -- the pair, A = the smaller product id
    b_id            VARCHAR NOT NULL,
    support         BIGINT NOT NULL,    -- the behaviour evidence the pair was selected on
    lift            DOUBLE,
    jaccard         DOUBLE,
    strength        DOUBLE NOT NULL,
    outcome         VARCHAR NOT NULL,   -- typed | no_relation | invalid (answer broke the schema) | unanswered
    relation        VARCHAR,            -- a vocabulary relation, 'none', or NULL (invalid, unanswered)
    src_id          VARCHAR,            -- product relations: the product the relation starts from
    dst_id          VARCHAR,            -- product relations: the other product
    concept         VARCHAR,            -- shared-concept relations: the concept as the LLM named it
    concept_id      VARCHAR,            -- ... and its node (merged with known surface forms)
    confidence      DOUBLE,
    rationale       VARCHAR,
    error           VARCHAR,            -- why an answer is invalid or missing
    call_id         VARCHAR,
    model           VARCHAR NOT NULL,
    prompt_version  VARCHAR NOT NULL,
    selection       VARCHAR NOT NULL    -- JSON: the thresholds that selected the pair (the evaluation
                                        -- selects again with them from its training split)
);
