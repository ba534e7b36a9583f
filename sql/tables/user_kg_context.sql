-- LKG-RAG: scored relation paths from a user's recent items, rendered for an LLM ranker.
CREATE TABLE IF NOT EXISTS user_kg_context (
    user_id    VARCHAR NOT NULL,
    rank       INTEGER NOT NULL,
    anchor_id  VARCHAR NOT NULL,   -- history item the path starts from
    relation   VARCHAR NOT NULL,
    dst_id     VARCHAR NOT NULL,
    score      DOUBLE NOT NULL,
    path_text  VARCHAR NOT NULL
);
