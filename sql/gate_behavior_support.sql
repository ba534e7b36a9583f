-- Behavioural support for candidate edges (the gate's `sig_behavior_*` signals).
-- Input: a registered relation `gate_pairs(head_id, tail_id)`.
-- support = users who interacted with both products; lift = support * N / (n_head * n_tail).
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
)
SELECT
    p.head_id,
    p.tail_id,
    coalesce(b.support, 0) AS support,
    CASE WHEN b.support IS NULL THEN NULL
         ELSE b.support::DOUBLE * t.n / (uh.n * ut.n) END AS lift
FROM gate_pairs p
LEFT JOIN both_users b USING (head_id, tail_id)
LEFT JOIN users_of uh ON uh.product_id = p.head_id
LEFT JOIN users_of ut ON ut.product_id = p.tail_id
CROSS JOIN total t
