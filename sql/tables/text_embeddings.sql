-- Vectors of texts other than product titles (the LLM's product mentions, knowledge texts),
-- keyed by the text's hash: a text is embedded once per model, whichever run or category
-- meets it again (resources/embedder.py `encode_cached`). Append-only; two runs that embed
-- the same new text at once may both add it (readers take one).
CREATE TABLE IF NOT EXISTS text_embeddings (
    model        VARCHAR NOT NULL,
    text_hash    VARCHAR NOT NULL,   -- sha1 of the UTF-8 text
    embedding    FLOAT[] NOT NULL,   -- L2-normalised
    embedded_at  TIMESTAMP
);
