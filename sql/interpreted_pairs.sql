-- The co-purchased pairs one category asks the LLM to interpret (defs/behavior: interpreted_relations).
-- Parameters: $category, $min_support, $min_lift, $per_product, $max_calls.
--
-- co_purchased edges come in both directions with the same figures: each unordered pair is
-- read once, A = the smaller product id, and belongs to the category of each of its products
-- (a pair of two categories is selected by both; the prompt shows A then B whichever asks,
-- so the ledger answers the second). Strength is the pair's weight in pkg_edges (half
-- Jaccard, half saturating support). A pair is selected when its support and lift reach the
-- thresholds, it is among the `$per_product` strongest such pairs of both its products (all
-- their pairs counted, so no product is in more than `$per_product` selected pairs), and it is
-- among the `$max_calls` strongest pairs left. `stage` says where every pair stopped, so each limit's cut is counted.
WITH strong_pairs AS (  -- every co-purchased pair once, with whether it passes the thresholds
    SELECT e.src_id AS a_id, e.dst_id AS b_id, e.support, e.lift, e.score AS jaccard,
           0.5 * e.score + 0.5 * least(1.0, ln(1 + e.support) / ln(11)) AS strength,
           e.support >= $min_support AND coalesce(e.lift, 0) >= $min_lift AS strong
    FROM behavior_edges e
    WHERE e.relation = 'co_purchased' AND e.src_id < e.dst_id
),
pairs AS (  -- this category's candidates: pairs with a product in it
    SELECT s.* FROM strong_pairs s
    JOIN products pa ON pa.product_id = s.a_id
    JOIN products pb ON pb.product_id = s.b_id
    WHERE $category IN (pa.category, pb.category)
),
-- The cap ranks each product's strong pairs among *all* its pairs, whatever their category,
-- so both categories of a pair of two make the same call on it.
touched AS (
    SELECT a_id AS product_id FROM pairs WHERE strong UNION SELECT b_id FROM pairs WHERE strong
),
ends AS (
    SELECT s.a_id, s.b_id, s.a_id AS product_id, s.strength FROM strong_pairs s SEMI JOIN touched t ON t.product_id = s.a_id
    WHERE s.strong
    UNION ALL
    SELECT s.a_id, s.b_id, s.b_id AS product_id, s.strength FROM strong_pairs s SEMI JOIN touched t ON t.product_id = s.b_id
    WHERE s.strong
),
ranked AS (
    SELECT a_id, b_id, max(rank_in_product) AS worst_rank
    FROM (SELECT *, row_number() OVER (PARTITION BY product_id ORDER BY strength DESC, a_id, b_id) AS rank_in_product
          FROM ends)
    GROUP BY a_id, b_id
),
capped AS (
    SELECT p.*, coalesce(r.worst_rank <= $per_product, false) AS within_cap
    FROM pairs p LEFT JOIN ranked r USING (a_id, b_id)
),
budgeted AS (
    SELECT *, row_number() OVER (PARTITION BY within_cap ORDER BY strength DESC, a_id, b_id) AS budget_rank
    FROM capped
)
SELECT a_id, b_id, support, lift, jaccard, strength,
       CASE WHEN NOT strong THEN 'below_thresholds'
            WHEN NOT within_cap THEN 'over_per_product_cap'
            WHEN budget_rank > $max_calls THEN 'over_budget'
            ELSE 'selected' END AS stage
FROM budgeted
ORDER BY strength DESC, a_id, b_id
