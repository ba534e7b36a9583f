-- The published snapshot's keys. The warehouse is a DuckLake, which has no key constraints;
-- the snapshot is a plain DuckDB file, so a reader can rely on one row per key (and adding a
-- key over duplicate rows fails the publish, leaving the previous snapshot in place).
ALTER TABLE pkg_nodes ADD PRIMARY KEY (node_id);
ALTER TABLE pkg_edges ADD PRIMARY KEY (src_id, relation, dst_id);
ALTER TABLE pkg_topk ADD PRIMARY KEY (src_id, relation, rank);
