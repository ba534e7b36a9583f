-- The products of category $c in the order extraction asks about them: with
-- priority 'interactions', the products with most events first (the budget case: a team
-- extracts its top N products first); ties, and priority 'catalog', by product id.
SELECT p.*, coalesce(e.events, 0) AS events
FROM products p
LEFT JOIN (SELECT product_id, count(*) AS events FROM interactions GROUP BY product_id) e USING (product_id)
WHERE p.category = $c
ORDER BY CASE WHEN $priority = 'interactions' THEN coalesce(e.events, 0) ELSE 0 END DESC, p.product_id
