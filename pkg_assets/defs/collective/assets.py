"""REKI collective knowledge: cluster similar products, ask the LLM once per cluster."""


import dagster as dg
import pandas as pd
from pydantic import Field

from pkg_assets.core.collective import agreement, contradicted, member_answers
from pkg_assets.core.clustering import CLUSTER_SEED, CLUSTER_TARGET_SIZE, EXACT_KMEANS_UP_TO, cluster_products
from pkg_assets.core.extraction import parse_cluster_answer
from pkg_assets.core.gate import has_injection
from pkg_assets.core.models import CONCEPT_KIND_BY_RELATION, CONCEPT_RELATIONS, ClusterAnswer
from pkg_assets.core.prompts import CLUSTER_PROMPT, cluster_prompt_input
from pkg_assets.core.resolve import concept_id, concept_key
from pkg_assets.defs.automation import LLM_RETRY
from pkg_assets.defs.metadata import counts_table, preview
from pkg_assets.defs.partitions import category_partitions
from pkg_assets.defs.resolution.assets import known_concept_ids, product_embeddings
from pkg_assets.resources.embedder import EmbedderResource
from pkg_assets.resources.llm import LLMRequest, LLMResource, parse_results
from pkg_assets.resources.warehouse import WarehouseResource, replace_partition, sql_text, vector_array, vector_matrix


@dg.asset(
    group_name="collective",
    partitions_def=category_partitions,
    deps=[product_embeddings],
    kinds={"duckdb", "scikit-learn"},
    pool="duckdb",
    description=f"Seeded k-means over product embeddings (bisecting k-means above {EXACT_KMEANS_UP_TO:,} "
    f"products), about {CLUSTER_TARGET_SIZE} products per cluster. Deterministic, so the same catalog asks the "
    "same cluster prompts.",
)
def product_clusters(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    category = context.partition_key
    with warehouse.connect() as conn:
        frame, vectors = vector_matrix(
            conn, "SELECT product_id, embedding FROM product_embeddings WHERE category = ? ORDER BY product_id",
            [category])
        clusters = cluster_products(frame["product_id"].tolist(), vectors, CLUSTER_TARGET_SIZE, CLUSTER_SEED)
        ordered = sorted(clusters.items(), key=lambda item: item[1][0])
        rows = [
            {"category": category, "product_id": pid, "cluster_id": f"{category}#{n:03d}", "signature": signature,
             "cluster_size": len(members)}
            for n, (signature, members) in enumerate(ordered) for pid in members
        ]
        out = pd.DataFrame(rows, columns=["category", "product_id", "cluster_id", "signature", "cluster_size"])
        replace_partition(conn, "product_clusters", out, category)
    sizes = [len(m) for m in clusters.values()]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(out),
        "clusters": len(clusters),
        "largest_cluster": max(sizes, default=0),
        "singletons": sum(1 for s in sizes if s == 1),
    })


class CollectiveConfig(dg.Config):
    force: bool = Field(default=False, description="ask again even when the ledger has an answer")
    min_confidence: float = Field(default=0.5, description="cluster relations below this are not propagated")


@dg.asset(
    group_name="collective",
    partitions_def=category_partitions,
    deps=[product_clusters, "concepts", "resolved_relations"],
    kinds={"duckdb", "litellm"},
    pool="llm",
    retry_policy=LLM_RETRY,
    description="One LLM call per cluster: the group's theme and the occasions, audiences and "
    "usages that hold for its members (propagated to every member in pkg_edges).",
)
def cluster_knowledge(context: dg.AssetExecutionContext, config: CollectiveConfig, llm: LLMResource,
                      warehouse: WarehouseResource) -> dg.MaterializeResult:
    category = context.partition_key
    with warehouse.connect() as conn:
        members = conn.execute(
            """
            SELECT c.cluster_id, c.signature, p.product_id, p.title, p.brand, p.category_path
            FROM product_clusters c JOIN products p USING (product_id)
            WHERE c.category = ? ORDER BY c.cluster_id, p.product_id
            """, [category],
        ).df()
        known_forms = known_concept_ids(conn)

        answers = member_answers(conn.execute(
            "SELECT head_id, relation, tail_mention FROM resolved_relations WHERE category = ? AND decision = 'concept'",
            [category]).fetchall())
        members_of = members.groupby("signature")["product_id"].agg(list).to_dict()

        requests, cluster_of = [], {}
        for (cluster_id, signature), group in members.groupby(["cluster_id", "signature"], sort=True):
            prompt_input = cluster_prompt_input(group.to_dict("records"))
            requests.append(LLMRequest(
                prompt=CLUSTER_PROMPT, prompt_input=prompt_input, render_context=prompt_input,
                replay_key=f"cluster/{signature}", partition=category,
                subject=f"cluster {cluster_id} ({len(group)} products, e.g. {group['title'].iloc[0][:50]!r})",
                schema=ClusterAnswer,
            ))
            cluster_of[f"cluster/{signature}"] = (cluster_id, signature, len(group))
    # The warehouse is not held while the LLM answers: the ledger opens it per group commit.
    results, stats = llm.ask(warehouse, requests, force=config.force, log=context.log)
    stats.raise_if_failed("cluster calls")
    with warehouse.connect() as conn:
        parsed = parse_results(conn, results, parse_cluster_answer)
        invalid = len(parsed.invalid)
        rows = []
        for result, answer in parsed.answers:
            cluster_id, signature, size = cluster_of[result.request.replay_key]
            for proposed in answer.relations:
                relation = proposed.relation.value
                reasons = []
                if relation not in CONCEPT_RELATIONS:
                    reasons.append("collective knowledge only carries concept relations")
                if has_injection(proposed.tail, proposed.rationale, answer.theme):
                    reasons.append("injection: answer echoes instructions")
                if proposed.confidence < config.min_confidence:
                    reasons.append(f"low_confidence: {proposed.confidence:.2f} < {config.min_confidence:.2f}")
                agree, contradict = agreement(members_of.get(signature, []), relation, proposed.tail, answers)
                if contradicted(agree, contradict):
                    reasons.append(f"contradicted: {contradict} members' own answers name other concepts "
                                   f"({agree} agree)")
                kind = CONCEPT_KIND_BY_RELATION.get(relation, "concept")
                key = concept_key(proposed.tail)
                rows.append({
                    "category": category, "cluster_id": cluster_id, "signature": signature, "theme": answer.theme,
                    "relation": relation, "tail_mention": proposed.tail,
                    "concept_id": known_forms.get((kind, key), concept_id(kind, key)),
                    "confidence": proposed.confidence, "rationale": proposed.rationale,
                    "gate_score": 0.0 if reasons else round(proposed.confidence, 4), "accepted": not reasons,
                    "reasons": "; ".join(reasons), "call_id": result.call_id, "model": llm.model,
                    "prompt_version": CLUSTER_PROMPT.version, "member_count": size,
                    "members_agree": agree, "members_contradict": contradict,
                })
        frame = pd.DataFrame(rows, columns=[
            "category", "cluster_id", "signature", "theme", "relation", "tail_mention", "concept_id", "confidence",
            "rationale", "gate_score", "accepted", "reasons", "call_id", "model", "prompt_version", "member_count",
            "members_agree", "members_contradict",
        ])
        replace_partition(conn, "cluster_knowledge", frame, category)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(frame),
        **stats.as_metadata(),
        "clusters": len(requests),
        "invalid_answers": invalid,
        "accepted": int(frame["accepted"].sum()),
        "member_edges_propagated": int(frame.loc[frame["accepted"], "member_count"].sum()),
        "by_relation": counts_table(frame["relation"], "relation"),
        "preview": preview(frame, ["cluster_id", "theme", "relation", "tail_mention", "accepted"]),
    })


@dg.asset(
    group_name="collective",
    partitions_def=category_partitions,
    deps=["validated_relations", cluster_knowledge],
    kinds={"duckdb", "sentence_transformers"},
    pool="duckdb",
    description="Per product, an embedding of its accepted knowledge (individual + collective) "
    "as text — a feature for downstream recommendation models.",
)
def knowledge_vectors(context: dg.AssetExecutionContext, embedder: EmbedderResource,
                      warehouse: WarehouseResource) -> dg.MaterializeResult:
    category = context.partition_key
    with warehouse.connect() as conn:
        texts = conn.execute(sql_text("knowledge_text"), {"c": category}).df()
        vectors, encoded = embedder.encode_cached(conn, texts["knowledge_text"].tolist(), log=context.log,
                                                  what="knowledge texts")
        frame = texts.assign(category=category, model=embedder.model_name, vector=vector_array(vectors))
        replace_partition(conn, "knowledge_vectors", frame, category)
    cut = embedder.texts_cut(texts["knowledge_text"].tolist())
    if cut:  # the encoder reads a text's first max_seq_length tokens only
        context.log.warning(f"knowledge_vectors: {cut} of {len(texts)} knowledge texts are longer than the "
                            "embedding model reads; their vectors stand for their beginning only")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(frame),
        "texts_embedded_now": encoded,
        "texts_longer_than_model_reads": cut,
        "mean_text_chars": round(float(texts["knowledge_text"].str.len().mean() or 0), 1),
        "preview": preview(frame, ["product_id", "knowledge_text"]),
    })
