-- The hallucination gate's accepted edges, every signal stored on the edge.
CREATE TABLE IF NOT EXISTS validated_relations (
    category              VARCHAR NOT NULL,
    head_id               VARCHAR NOT NULL,
    relation              VARCHAR NOT NULL,
    tail_mention          VARCHAR NOT NULL,
    tail_kind             VARCHAR NOT NULL,
    decision              VARCHAR NOT NULL,
    tail_id               VARCHAR,
    factors               VARCHAR[] NOT NULL,  -- factor prompts that proposed it
    confidence            DOUBLE NOT NULL,     -- max over proposals
    rationale             VARCHAR,
    call_ids              VARCHAR[] NOT NULL,
    model                 VARCHAR NOT NULL,
    prompt_version        VARCHAR NOT NULL,
    sig_resolution        DOUBLE,   -- resolution score of the tail
    sig_type_ok           BOOLEAN,  -- relation-type constraint holds
    sig_consistency       DOUBLE,   -- extra supporting proposals (factors, both directions, samples)
    sig_behavior_support  BIGINT,   -- users who interacted with both head and tail
    sig_behavior_lift     DOUBLE,
    sig_behavior_neighbourhood DOUBLE,  -- cosine of head/tail co-occurrence neighbourhoods
    sig_head_users        BIGINT,   -- users of the head (0: cold start, behaviour cannot judge)
    sig_embedding_sim     DOUBLE,   -- cosine(head, tail) product embeddings
    sig_injection         BOOLEAN,  -- mention/rationale echoes instructions
    sig_verifier          VARCHAR,  -- verifier LLM verdict (yes/no), NULL when not asked
    sig_head_type         VARCHAR,  -- product types (core/product_type.py); NULL = unknown
    sig_tail_type         VARCHAR,
    sig_same_product      BOOLEAN,  -- tail is a variant of the head (size, pack, concentration)
    sig_same_form         BOOLEAN,  -- head and tail share a type form (two perfumes, two lotions)
    sig_audience_ok       BOOLEAN,  -- head and tail audiences agree (men / women / unisex)
    sig_breadth           BIGINT,   -- other heads of the head's type form proposing the same relation and tail
    gate_score            DOUBLE NOT NULL,
    reasons               VARCHAR,  -- why rejected (or notes on acceptance)
    gated_at              TIMESTAMP
);
-- Warehouses created before these signals existed gain the columns (NULL for old rows).
ALTER TABLE validated_relations ADD COLUMN IF NOT EXISTS sig_behavior_neighbourhood DOUBLE;
ALTER TABLE validated_relations ADD COLUMN IF NOT EXISTS sig_head_users BIGINT;
ALTER TABLE validated_relations ADD COLUMN IF NOT EXISTS sig_verifier VARCHAR;
