CREATE TABLE IF NOT EXISTS graph_evaluation (
    recommender   VARCHAR NOT NULL,
    metric        VARCHAR NOT NULL,
    k             INTEGER,
    value         DOUBLE NOT NULL,
    n_users       BIGINT NOT NULL,
    evaluated_at  TIMESTAMP
);
