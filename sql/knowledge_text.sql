-- Per product of category $c, its title followed by its accepted knowledge as text
-- ("relation: tail; ..."): individual edges the gate accepted (product tails by title, concept
-- tails by canonical name) and the accepted cluster concepts of its cluster.
-- knowledge_vectors embeds it; the cold-start benchmark builds it again from re-gated edges.
WITH facts AS (
    SELECT v.head_id AS product_id, v.relation,
           coalesce(t.title, c.canonical_name, v.tail_mention) AS tail_name
    FROM validated_relations v
    LEFT JOIN products t ON t.product_id = v.tail_id
    LEFT JOIN (SELECT DISTINCT concept_id, canonical_name FROM concepts) c ON c.concept_id = v.tail_id
    WHERE v.category = $c
    UNION
    SELECT pc.product_id, k.relation, k.tail_mention
    FROM cluster_knowledge k JOIN product_clusters pc USING (signature)
    WHERE k.category = $c AND k.accepted
)
SELECT p.product_id,
       p.title || '. ' || coalesce(string_agg(f.relation || ': ' || f.tail_name, '; ' ORDER BY f.relation, f.tail_name), '')
           AS knowledge_text
FROM products p LEFT JOIN facts f USING (product_id)
WHERE p.category = $c
GROUP BY p.product_id, p.title
ORDER BY p.product_id
