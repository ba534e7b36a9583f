-- Every neighbour of a product by relation, products and concepts alike, with names and sources.
CREATE OR REPLACE VIEW product_neighbours AS
SELECT e.src_id AS product_id, s.name AS product_title, e.relation, e.dst_id AS neighbour_id,
       d.name AS neighbour_name, e.dst_type AS neighbour_type, e.weight, e.sources
FROM pkg_edges e
JOIN pkg_nodes s ON s.node_id = e.src_id
JOIN pkg_nodes d ON d.node_id = e.dst_id;
