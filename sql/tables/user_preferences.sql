-- LKG-RAG: how much each user's history follows each relation type (smoothed share).
CREATE TABLE IF NOT EXISTS user_preferences (
    user_id   VARCHAR NOT NULL,
    relation  VARCHAR NOT NULL,
    weight    DOUBLE NOT NULL,
    support   BIGINT NOT NULL
);
