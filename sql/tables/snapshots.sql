-- Publication log of the read-only graph snapshot.
CREATE TABLE IF NOT EXISTS snapshots (
    published_at  TIMESTAMP NOT NULL,
    path          VARCHAR NOT NULL,
    n_nodes       BIGINT NOT NULL,
    n_edges       BIGINT NOT NULL,
    bytes         BIGINT NOT NULL
);
