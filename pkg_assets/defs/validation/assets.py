"""The hallucination gate: every LLM edge scored from per-edge signals, accepted or rejected."""


from datetime import datetime, timezone

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from pkg_assets.core.gate import EdgeSignals, GateConfig, consistency, has_injection, score_edge, type_constraint
from pkg_assets.defs.catalog.assets import interactions
from pkg_assets.defs.metadata import counts_table, preview
from pkg_assets.defs.partitions import category_partitions
from pkg_assets.defs.resolution.assets import load_catalog_index, product_embeddings
from pkg_assets.resources.warehouse import WarehouseResource, replace_partition, sql_text

GATED_COLUMNS = [
    "category", "head_id", "relation", "tail_mention", "tail_kind", "decision", "tail_id", "factors",
    "confidence", "rationale", "call_ids", "model", "prompt_version", "sig_resolution", "sig_type_ok",
    "sig_consistency", "sig_behavior_support", "sig_behavior_lift", "sig_embedding_sim", "sig_injection",
    "gate_score", "reasons", "gated_at",
]


class GateRunConfig(dg.Config):
    accept_threshold: float = Field(default=GateConfig().accept_threshold, description="minimum gate score")
    behavior_saturation: int = GateConfig().behavior_saturation
    same_type_cosine: float = GateConfig().same_type_cosine


def aggregate_proposals(resolved: pd.DataFrame) -> pd.DataFrame:
    """One row per (head, relation, tail): the factors that proposed it, best confidence."""
    if resolved.empty:
        return resolved.assign(factors=[], call_ids=[], tail_key=[])
    frame = resolved.assign(tail_key=resolved["tail_id"].fillna("mention:" + resolved["tail_mention"].str.lower()))
    frame = frame.sort_values("confidence", ascending=False, kind="stable")
    grouped = frame.groupby(["head_id", "relation", "tail_key"], sort=True)
    best = grouped.head(1).set_index(["head_id", "relation", "tail_key"])
    best["factors"] = grouped["factor"].agg(lambda s: sorted(set(s)))
    best["call_ids"] = grouped["call_id"].agg(lambda s: sorted(set(s)))
    best["resolution_score"] = grouped["resolution_score"].max()
    return best.reset_index()


@dg.multi_asset(
    group_name="validation",
    partitions_def=category_partitions,
    pool="duckdb",
    specs=[
        dg.AssetSpec("validated_relations", kinds={"duckdb"}, code_version="gate-1",
                     deps=["resolved_relations", product_embeddings, interactions],
                     description="LLM edges that passed the hallucination gate, with every signal."),
        dg.AssetSpec("rejected_relations", kinds={"duckdb"}, code_version="gate-1",
                     deps=["resolved_relations", product_embeddings, interactions],
                     description="LLM edges the gate rejected: every signal kept, plus the reasons."),
    ],
)
def hallucination_gate(context: dg.AssetExecutionContext, config: GateRunConfig, warehouse: WarehouseResource):
    category = context.partition_key
    gate = GateConfig(accept_threshold=config.accept_threshold, behavior_saturation=config.behavior_saturation,
                      same_type_cosine=config.same_type_cosine)
    with warehouse.connect() as conn:
        resolved = conn.execute("SELECT * FROM resolved_relations WHERE category = ?", [category]).df()
        edges = aggregate_proposals(resolved)
        paths = dict(conn.execute("SELECT product_id, category_path FROM products").fetchall())
        reverse = set(conn.execute(
            "SELECT DISTINCT head_id, tail_id FROM resolved_relations WHERE decision = 'product'"
        ).fetchall())
        index = load_catalog_index(conn)

        product_edges = edges[edges["decision"] == "product"]
        pairs = pd.DataFrame({"head_id": product_edges["head_id"], "tail_id": product_edges["tail_id"]}).drop_duplicates()
        conn.register("gate_pairs", pairs)
        try:
            support = conn.execute(sql_text("gate_behavior_support")).df()
        finally:
            conn.unregister("gate_pairs")
        behaviour = {(r.head_id, r.tail_id): (int(r.support), r.lift) for r in support.itertuples(index=False)}

        rows = []
        for edge in edges.to_dict("records"):
            head, tail = edge["head_id"], edge["tail_id"]
            cosine = None
            if edge["decision"] == "product":
                hv, tv = index.vector_of(head), index.vector_of(tail)
                cosine = float(np.dot(hv, tv)) if hv is not None and tv is not None else None
            type_ok, type_reason = type_constraint(edge["relation"], edge["decision"], paths.get(head),
                                                   paths.get(tail), cosine, gate)
            support_count, lift = behaviour.get((head, tail), (0, None))
            signals = EdgeSignals(
                resolution=float(edge["resolution_score"]) if edge["decision"] != "unresolved" else 0.0,
                type_ok=type_ok, type_reason=type_reason,
                consistency=consistency(len(edge["factors"]), int((tail, head) in reverse)),
                behavior_support=support_count,
                behavior_lift=None if lift is None or pd.isna(lift) else float(lift),
                embedding_sim=cosine,
                injection=has_injection(edge["tail_mention"], edge["rationale"]),
            )
            score, reasons = score_edge(edge["relation"], edge["decision"], float(edge["confidence"]), signals,
                                        is_self_loop=(tail is not None and tail == head), config=gate)
            rows.append({
                **{k: edge[k] for k in ("category", "head_id", "relation", "tail_mention", "tail_kind", "decision",
                                        "tail_id", "factors", "confidence", "rationale", "call_ids", "model",
                                        "prompt_version")},
                "sig_resolution": signals.resolution, "sig_type_ok": signals.type_ok,
                "sig_consistency": signals.consistency, "sig_behavior_support": signals.behavior_support,
                "sig_behavior_lift": signals.behavior_lift, "sig_embedding_sim": signals.embedding_sim,
                "sig_injection": signals.injection, "gate_score": score, "reasons": "; ".join(reasons),
                "gated_at": datetime.now(timezone.utc).replace(tzinfo=None),
            })
        gated = pd.DataFrame(rows, columns=GATED_COLUMNS)
        accepted = gated[gated["reasons"] == ""]
        rejected = gated[gated["reasons"] != ""]
        replace_partition(conn, "validated_relations", accepted, category)
        replace_partition(conn, "rejected_relations", rejected, category)

    rate = len(accepted) / len(gated) if len(gated) else 0.0
    context.log.info(f"gate: {len(accepted)} accepted, {len(rejected)} rejected ({rate:.0%} accepted)")
    yield dg.MaterializeResult(asset_key="validated_relations", metadata={
        "dagster/row_count": len(accepted),
        "acceptance_rate": round(rate, 4),
        "accepted_by_relation": counts_table(accepted["relation"], "relation"),
        "preview": preview(accepted.sort_values("gate_score", ascending=False),
                           ["head_id", "relation", "tail_mention", "tail_id", "gate_score"]),
    })
    yield dg.MaterializeResult(asset_key="rejected_relations", metadata={
        "dagster/row_count": len(rejected),
        "rejected_by_reason": counts_table(rejected["reasons"].str.split(":").str[0], "reason"),
        "rejected_by_relation": counts_table(rejected["relation"], "relation"),
        "preview": preview(rejected, ["head_id", "relation", "tail_mention", "reasons"]),
    })
