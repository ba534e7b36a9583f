CREATE TABLE IF NOT EXISTS pkg_nodes (
    node_id        VARCHAR NOT NULL,
    node_type      VARCHAR NOT NULL,   -- product | concept
    name           VARCHAR NOT NULL,
    kind           VARCHAR,            -- product category, or concept kind
    brand          VARCHAR,
    price          DOUBLE,
    surface_forms  VARCHAR[],
    built_at       TIMESTAMP
);
