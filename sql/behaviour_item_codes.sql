-- Integer codes for the sparse user × item matrix of core/cooccurrence.py (the gate's and the
-- resolver's behavioural evidence): every product with an interaction, in id order, coded 0..n-1.
-- Input: the table or view `interactions` (the evaluation names its training split so).
CREATE OR REPLACE TEMP TABLE behaviour_item_codes AS
SELECT product_id, (row_number() OVER (ORDER BY product_id) - 1)::INTEGER AS item
FROM (SELECT DISTINCT product_id FROM interactions)
