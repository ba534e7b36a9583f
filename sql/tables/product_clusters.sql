CREATE TABLE IF NOT EXISTS product_clusters (
    category      VARCHAR NOT NULL,
    product_id    VARCHAR NOT NULL,
    cluster_id    VARCHAR NOT NULL,   -- "<category>#<n>"
    signature     VARCHAR NOT NULL,   -- hash of the member ids: names the cluster's recording
    cluster_size  BIGINT NOT NULL
);
