-- Canonical concept nodes (occasions, audiences, usages) with all their surface forms.
CREATE TABLE IF NOT EXISTS concepts (
    category        VARCHAR NOT NULL,
    concept_id      VARCHAR NOT NULL,   -- stable across partitions: kind + normalised key
    kind            VARCHAR NOT NULL,
    canonical_name  VARCHAR NOT NULL,
    surface_forms   VARCHAR[] NOT NULL,
    mention_count   BIGINT NOT NULL
);
