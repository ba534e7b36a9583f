-- REKI collective extraction: one LLM call per cluster; relations hold for every member.
CREATE TABLE IF NOT EXISTS cluster_knowledge (
    category        VARCHAR NOT NULL,
    cluster_id      VARCHAR NOT NULL,
    signature       VARCHAR NOT NULL,
    theme           VARCHAR,
    relation        VARCHAR NOT NULL,
    tail_mention    VARCHAR NOT NULL,
    concept_id      VARCHAR NOT NULL,
    confidence      DOUBLE NOT NULL,
    rationale       VARCHAR,
    gate_score      DOUBLE NOT NULL,
    accepted        BOOLEAN NOT NULL,
    reasons         VARCHAR,
    call_id         VARCHAR NOT NULL,
    model           VARCHAR NOT NULL,
    prompt_version  VARCHAR NOT NULL,
    member_count    BIGINT NOT NULL,
    members_agree   BIGINT,   -- members whose own answers name this concept (core/collective.py)
    members_contradict BIGINT -- members that answered this relation themselves and named other concepts only
);
