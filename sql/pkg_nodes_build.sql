-- Graph nodes: every product, and every concept an accepted edge points at (merged across
-- partitions by concept_id). A concept only rejected edges name (an injection echoed as an
-- "occasion", say) is never published.
WITH concept_rows AS (
    SELECT concept_id, kind, canonical_name, surface_forms, mention_count FROM concepts
    WHERE concept_id IN (SELECT tail_id FROM validated_relations WHERE decision = 'concept')
    UNION ALL
    SELECT concept_id,
           CASE relation WHEN 'for_occasion' THEN 'occasion' WHEN 'for_audience' THEN 'audience'
                         WHEN 'used_for' THEN 'usage' ELSE 'concept' END,
           tail_mention, [tail_mention], 1
    FROM cluster_knowledge WHERE accepted
    UNION ALL
    -- concepts two co-purchased products share (interpreted_relations), once the gate accepted them
    SELECT concept_id,
           CASE relation WHEN 'for_occasion' THEN 'occasion' WHEN 'for_audience' THEN 'audience'
                         WHEN 'used_for' THEN 'usage' ELSE 'concept' END,
           concept, [concept], 1
    FROM interpreted_relations
    WHERE concept_id IN (SELECT tail_id FROM validated_relations WHERE decision = 'concept')
)
SELECT product_id AS node_id, 'product' AS node_type, title AS name, category AS kind, brand, price,
       NULL::VARCHAR[] AS surface_forms, now()::TIMESTAMP AS built_at
FROM products
UNION ALL
SELECT concept_id AS node_id, 'concept' AS node_type, arg_max(canonical_name, mention_count) AS name,
       any_value(kind) AS kind, NULL AS brand, NULL AS price,
       list_sort(list_distinct(flatten(list(surface_forms)))) AS surface_forms, now()::TIMESTAMP AS built_at
FROM concept_rows
GROUP BY concept_id
