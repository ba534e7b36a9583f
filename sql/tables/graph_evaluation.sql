CREATE TABLE IF NOT EXISTS graph_evaluation (
    recommender   VARCHAR NOT NULL,
    metric        VARCHAR NOT NULL,
    k             INTEGER,
    value         DOUBLE NOT NULL,
    n_users       BIGINT NOT NULL,
    segment       VARCHAR,   -- 'all' users, or 'knowledge': users whose test item is in a category with LLM knowledge
    evaluated_at  TIMESTAMP
);
