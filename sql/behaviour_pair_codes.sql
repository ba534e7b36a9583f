-- The pairs to score (`gate_pairs(head_id, tail_id)`, registered by the caller) as product
-- codes, -1 for a product without interactions; in the order given.
SELECT p.head_id, p.tail_id, coalesce(h.item, -1) AS head, coalesce(t.item, -1) AS tail
FROM gate_pairs p
LEFT JOIN behaviour_item_codes h ON h.product_id = p.head_id
LEFT JOIN behaviour_item_codes t ON t.product_id = p.tail_id
