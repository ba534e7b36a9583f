-- Top related products of a product: SELECT * FROM related_products WHERE product_id = ? [AND relation = ?]
-- relation '*' ranks across all relations.
CREATE OR REPLACE VIEW related_products AS
SELECT t.src_id AS product_id, t.relation, t.rank, t.dst_id AS related_id, n.name AS related_title, t.weight
FROM pkg_topk t JOIN pkg_nodes n ON n.node_id = t.dst_id;
