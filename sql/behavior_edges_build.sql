-- Behaviour relations mined from `behavior_input` (a view over interactions, or a training split).
-- Parameters: $window (positions ahead that count as co-occurring), $min_support.
--
-- co_purchased (both directions): the two products appear within $window positions of each
--   other in one user's history. support = distinct users; lift = support * N / (n_a * n_b);
--   score = Jaccard over users = support / (n_a + n_b - support).
-- next_item: dst directly follows src. support = distinct users with that transition (one
--   user repeating an item pair is one piece of evidence, not many); score = support over the
--   src's summed support, P(next = dst | src) counted in users.
--
-- Pairs are generated with an equality join on (user, rank) against each interaction's
-- rank + k, k = 1..$window, materialised as a column (`target_rn`) so the hash join keys on
-- both: the cost is O(interactions x window), linear even for one user with 100k events
-- (a join on user alone, filtered by rank afterwards, was quadratic in a user's history).
--
-- Users and products travel as integer codes (`item_codes`, `user_code`) through the joins and
-- aggregates and become ids again at the end: a (user, product, product) row of codes is a
-- third of the strings' size, so a million-product catalog spills far less under the memory limit.
WITH item_codes AS (
    SELECT product_id, row_number() OVER (ORDER BY product_id)::INTEGER AS item
    FROM (SELECT DISTINCT product_id FROM behavior_input)
),
seq AS (
    SELECT dense_rank() OVER (ORDER BY b.user_id)::INTEGER AS user_id, c.item AS product_id,
           row_number() OVER (PARTITION BY b.user_id ORDER BY b.position, b.product_id) AS rn
    FROM behavior_input b JOIN item_codes c USING (product_id)
),
ahead AS (
    SELECT a.user_id, a.product_id AS src_id, a.rn + t.k AS target_rn, t.k AS gap
    FROM seq a
    CROSS JOIN range(1, $window + 1) t(k)
),
pairs AS (
    SELECT h.user_id, h.src_id, b.product_id AS dst_id, h.gap
    FROM ahead h
    JOIN seq b ON b.user_id = h.user_id AND b.rn = h.target_rn
    WHERE h.src_id <> b.product_id
),
users_of AS (
    SELECT product_id, count(DISTINCT user_id) AS n FROM seq GROUP BY product_id
),
total AS (
    SELECT greatest(count(DISTINCT user_id), 1) AS n FROM seq
),
user_pairs AS (
    SELECT DISTINCT user_id, least(src_id, dst_id) AS p, greatest(src_id, dst_id) AS q FROM pairs
),
co AS (
    SELECT p, q, count(*) AS support FROM user_pairs GROUP BY p, q HAVING count(*) >= $min_support
),
co_both AS (
    SELECT p AS src_id, q AS dst_id, support FROM co
    UNION ALL
    SELECT q AS src_id, p AS dst_id, support FROM co
),
transitions AS (
    SELECT src_id, dst_id, count(DISTINCT user_id) AS support FROM pairs WHERE gap = 1 GROUP BY src_id, dst_id
),
out_degree AS (
    SELECT src_id, sum(support) AS n FROM transitions GROUP BY src_id
)
SELECT s.product_id AS src_id, 'co_purchased' AS relation, d.product_id AS dst_id, c.support,
       c.support::DOUBLE * t.n / (us.n * ud.n) AS lift,
       c.support::DOUBLE / (us.n + ud.n - c.support) AS score,
       now()::TIMESTAMP AS built_at
FROM co_both c
JOIN users_of us ON us.product_id = c.src_id
JOIN users_of ud ON ud.product_id = c.dst_id
JOIN item_codes s ON s.item = c.src_id
JOIN item_codes d ON d.item = c.dst_id
CROSS JOIN total t
UNION ALL
SELECT s.product_id AS src_id, 'next_item' AS relation, d.product_id AS dst_id, tr.support, NULL AS lift,
       tr.support::DOUBLE / o.n AS score, now()::TIMESTAMP AS built_at
FROM transitions tr JOIN out_degree o USING (src_id)
JOIN item_codes s ON s.item = tr.src_id
JOIN item_codes d ON d.item = tr.dst_id
WHERE tr.support >= $min_support
