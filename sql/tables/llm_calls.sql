-- The ledger: every LLM call, written before its answer is parsed.
-- Identical (model, prompt_version, input_hash) is answered from here, not the provider.
CREATE TABLE IF NOT EXISTS llm_calls (
    call_id            VARCHAR NOT NULL,
    model              VARCHAR NOT NULL,
    prompt_name        VARCHAR NOT NULL,
    prompt_version     VARCHAR NOT NULL,
    input_hash         VARCHAR NOT NULL,
    partition          VARCHAR,
    subject            VARCHAR,
    request            VARCHAR,          -- JSON: rendered messages and input variables
    response           VARCHAR,          -- raw text as returned
    status             VARCHAR NOT NULL, -- ok | invalid | error
    error              VARCHAR,
    prompt_tokens      BIGINT,
    completion_tokens  BIGINT,
    cost_usd           DOUBLE,
    latency_ms         DOUBLE,
    created_at         TIMESTAMP NOT NULL
);
-- Added after the first release: attempts per call (retries included).
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS attempts BIGINT;
-- Added with group commits: the provider's whole response body (JSON), kept before anything
-- reads it, so a body of a shape we can't read (no `choices`) is still paid-for evidence.
ALTER TABLE llm_calls ADD COLUMN IF NOT EXISTS raw_response VARCHAR;
