-- The fused graph: one row per (src, relation, dst), with provenance.
--
-- Weights (all in [0, 1]):
--   llm_individual  gate score of the validated edge (proposed by a factor prompt)
--   llm_interpreted gate score of the validated edge (the LLM's reason for a co-purchase,
--                   interpreted_relations); an edge both proposed is one row per source
--   llm_collective  confidence of the cluster relation x 0.9 (it is about the group, not the item)
--   co_purchased    0.5 * Jaccard + 0.5 * min(1, ln(1 + support) / ln(1 + 10))
--   next_item       P(next = dst | src)
-- An edge proposed by several sources keeps the highest weight and lists every source.
WITH llm AS (
    SELECT v.head_id AS src_id, v.relation, v.tail_id AS dst_id,
           CASE WHEN v.decision = 'product' THEN 'product' ELSE 'concept' END AS dst_type,
           unnest(list_distinct([CASE WHEN f = 'interpreted' THEN 'llm_interpreted' ELSE 'llm_individual' END
                                 FOR f IN v.factors])) AS source,
           v.gate_score AS weight, v.gate_score, v.confidence,
           v.sig_behavior_support AS support, v.sig_behavior_lift AS lift, v.rationale,
           json_object('factors', v.factors, 'call_ids', v.call_ids, 'mention', v.tail_mention,
                       'resolution', v.sig_resolution, 'consistency', v.sig_consistency,
                       'embedding_sim', v.sig_embedding_sim) AS evidence,
           v.model, v.prompt_version
    FROM validated_relations v
),
collective AS (
    SELECT pc.product_id AS src_id, k.relation, k.concept_id AS dst_id, 'concept' AS dst_type,
           'llm_collective' AS source, 0.9 * k.confidence AS weight, k.gate_score, k.confidence,
           NULL::BIGINT AS support, NULL::DOUBLE AS lift, k.rationale,
           json_object('cluster_id', k.cluster_id, 'theme', k.theme, 'members', k.member_count,
                       'call_id', k.call_id) AS evidence,
           k.model, k.prompt_version
    FROM cluster_knowledge k JOIN product_clusters pc USING (signature)
    WHERE k.accepted AND pc.product_id IN (SELECT product_id FROM products)
),
behaviour AS (
    SELECT src_id, relation, dst_id, 'product' AS dst_type, 'behavior' AS source,
           CASE relation WHEN 'co_purchased' THEN 0.5 * score + 0.5 * least(1.0, ln(1 + support) / ln(11))
                         ELSE score END AS weight,
           NULL::DOUBLE AS gate_score, NULL::DOUBLE AS confidence, support, lift,
           NULL::VARCHAR AS rationale,
           json_object('support', support, 'lift', lift, 'score', score) AS evidence,
           NULL::VARCHAR AS model, NULL::VARCHAR AS prompt_version
    FROM behavior_edges
),
all_edges AS (
    SELECT * FROM llm UNION ALL BY NAME SELECT * FROM collective UNION ALL BY NAME SELECT * FROM behaviour
),
kept AS (
    SELECT * FROM all_edges
    WHERE src_id <> dst_id
      -- only products the catalog has now: a product that left it leaves the graph too
      AND src_id IN (SELECT product_id FROM products)
      AND (dst_type = 'concept' OR dst_id IN (SELECT product_id FROM products))
),
-- Most edges have one source (behaviour alone, mostly). Only the few (src, relation, dst)
-- several sources propose are grouped with list aggregates: DuckDB cannot spill list states,
-- and grouping every edge that way ran out of its memory limit at 100k products.
shared_keys AS (
    SELECT src_id, relation, dst_id FROM kept GROUP BY ALL HAVING count(*) > 1
),
single AS (
    SELECT k.* FROM kept k ANTI JOIN shared_keys s USING (src_id, relation, dst_id)
),
shared AS (
    SELECT k.* FROM kept k SEMI JOIN shared_keys s USING (src_id, relation, dst_id)
)
SELECT src_id, relation, dst_id, dst_type, [source] AS sources, least(1.0, weight) AS weight, gate_score,
       confidence, support, lift, rationale,
       to_json([json_object('source', source, 'evidence', evidence)]) AS evidence,
       model, prompt_version, now()::TIMESTAMP AS built_at
FROM single
UNION ALL
SELECT src_id, relation, dst_id,
       any_value(dst_type) AS dst_type,
       list_sort(list_distinct(list(source))) AS sources,
       least(1.0, max(weight)) AS weight,
       max(gate_score) AS gate_score,
       max(confidence) AS confidence,
       max(support) AS support,
       max(lift) AS lift,
       arg_max(rationale, weight) AS rationale,
       to_json(list(json_object('source', source, 'evidence', evidence))) AS evidence,
       arg_max(model, weight) AS model,
       arg_max(prompt_version, weight) AS prompt_version,
       now()::TIMESTAMP AS built_at
FROM shared
GROUP BY src_id, relation, dst_id
