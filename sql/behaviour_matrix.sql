-- The distinct (user, product) interactions as integer codes: users 0..U-1 densely, products
-- by `behaviour_item_codes`. One row per pair however often the user came back: evidence
-- counts users, not events.
SELECT DISTINCT (dense_rank() OVER (ORDER BY i.user_id) - 1)::INTEGER AS "user", c.item
FROM interactions i JOIN behaviour_item_codes c USING (product_id)
