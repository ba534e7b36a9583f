-- Why are two products related? SELECT * FROM explain_pair('A', 'B')
-- Direct edges in both directions with their evidence, plus shared concepts (A -> concept <- B).
CREATE OR REPLACE MACRO explain_pair(a, b) AS TABLE
SELECT 'direct' AS path, e.src_id, e.relation, e.dst_id, NULL AS via, e.weight, e.sources, e.rationale, e.evidence
FROM pkg_edges e
WHERE (e.src_id = a AND e.dst_id = b) OR (e.src_id = b AND e.dst_id = a)
UNION ALL
SELECT 'shared_concept' AS path, ea.src_id, ea.relation, eb.src_id AS dst_id, ea.dst_id AS via,
       least(ea.weight, eb.weight) AS weight, list_distinct(list_concat(ea.sources, eb.sources)) AS sources,
       NULL AS rationale, NULL AS evidence
FROM pkg_edges ea JOIN pkg_edges eb ON ea.dst_id = eb.dst_id AND ea.relation = eb.relation
WHERE ea.src_id = a AND eb.src_id = b AND ea.dst_type = 'concept';
