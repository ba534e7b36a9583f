-- Precomputed neighbour lists: top $k product neighbours per (product, relation), and per
-- product over any relation (relation = '*', weight = the best edge between the two).
WITH product_edges AS (
    SELECT src_id, relation, dst_id, weight FROM pkg_edges WHERE dst_type = 'product'
),
by_relation AS (
    SELECT src_id, relation, dst_id, weight,
           row_number() OVER (PARTITION BY src_id, relation ORDER BY weight DESC, dst_id) AS rank
    FROM product_edges
),
any_relation AS (
    SELECT src_id, '*' AS relation, dst_id, max(weight) AS weight FROM product_edges GROUP BY src_id, dst_id
),
any_ranked AS (
    SELECT *, row_number() OVER (PARTITION BY src_id ORDER BY weight DESC, dst_id) AS rank FROM any_relation
)
SELECT src_id, relation, rank::INTEGER AS rank, dst_id, weight FROM by_relation WHERE rank <= $k
UNION ALL
SELECT src_id, relation, rank::INTEGER AS rank, dst_id, weight FROM any_ranked WHERE rank <= $k
