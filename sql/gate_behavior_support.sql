-- Behavioural evidence for candidate edges (the gate's `sig_behavior_*` signals).
-- Input: a registered relation `gate_pairs(head_id, tail_id)` and the table `interactions`.
--
-- support       users who interacted with both products;
-- lift          support * users / (users of head * users of tail);
-- neighbourhood cosine between the head's and the tail's co-occurrence vectors (how many
--               users each shares with every third product): products bought *alongside the
--               same things* score high even when no single user bought both. Normalised by
--               the vectors' lengths, so a popular tail does not score high by popularity alone.
-- head_users    users of the head: with none, absence of support says nothing (cold start).
-- Cost: one pass over the interactions of the products in `gate_pairs` and their users.
WITH users_of AS (
    SELECT product_id, count(DISTINCT user_id) AS n FROM interactions GROUP BY product_id
),
total AS (
    SELECT greatest(count(DISTINCT user_id), 1) AS n FROM interactions
),
both_users AS (
    SELECT p.head_id, p.tail_id, count(DISTINCT a.user_id) AS support
    FROM gate_pairs p
    JOIN interactions a ON a.product_id = p.head_id
    JOIN interactions b ON b.user_id = a.user_id AND b.product_id = p.tail_id
    GROUP BY p.head_id, p.tail_id
),
gate_items AS (
    SELECT head_id AS product_id FROM gate_pairs UNION SELECT tail_id FROM gate_pairs
),
item_users AS (
    SELECT DISTINCT i.product_id, i.user_id
    FROM interactions i SEMI JOIN gate_items g ON g.product_id = i.product_id
),
cooccurrence AS (   -- (gate item, third product): users with both
    SELECT iu.product_id, o.product_id AS other_id, count(DISTINCT o.user_id)::DOUBLE AS n
    FROM item_users iu
    JOIN interactions o ON o.user_id = iu.user_id AND o.product_id <> iu.product_id
    GROUP BY iu.product_id, o.product_id
),
norms AS (
    SELECT product_id, sqrt(sum(n * n)) AS norm FROM cooccurrence GROUP BY product_id
),
neighbourhood AS (
    SELECT p.head_id, p.tail_id, sum(h.n * t.n) AS dot
    FROM gate_pairs p
    JOIN cooccurrence h ON h.product_id = p.head_id
    JOIN cooccurrence t ON t.product_id = p.tail_id AND t.other_id = h.other_id
    WHERE h.other_id NOT IN (p.head_id, p.tail_id)
    GROUP BY p.head_id, p.tail_id
)
SELECT
    p.head_id,
    p.tail_id,
    coalesce(b.support, 0) AS support,
    CASE WHEN b.support IS NULL THEN NULL
         ELSE b.support::DOUBLE * t.n / (uh.n * ut.n) END AS lift,
    coalesce(nb.dot / nullif(nh.norm * nt.norm, 0), 0.0) AS neighbourhood,
    coalesce(uh.n, 0) AS head_users
FROM (SELECT DISTINCT head_id, tail_id FROM gate_pairs) p
LEFT JOIN both_users b USING (head_id, tail_id)
LEFT JOIN neighbourhood nb USING (head_id, tail_id)
LEFT JOIN users_of uh ON uh.product_id = p.head_id
LEFT JOIN users_of ut ON ut.product_id = p.tail_id
LEFT JOIN norms nh ON nh.product_id = p.head_id
LEFT JOIN norms nt ON nt.product_id = p.tail_id
CROSS JOIN total t
