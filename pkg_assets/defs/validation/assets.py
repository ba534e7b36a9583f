"""The hallucination gate: every LLM edge scored from per-edge signals, accepted or rejected."""



import dagster as dg
import pandas as pd
from pydantic import Field

from pkg_assets.core.gate import GateConfig, aggregate_proposals, behaviour_by_pair, judge_edges
from pkg_assets.defs.catalog.assets import interactions
from pkg_assets.defs.metadata import counts_table, preview
from pkg_assets.defs.partitions import category_partitions
from pkg_assets.defs.resolution.assets import load_catalog_index, product_embeddings
from pkg_assets.resources.warehouse import WarehouseResource, behaviour_for_pairs, replace_partition

class GateRunConfig(dg.Config):
    accept_threshold: float = Field(default=GateConfig().accept_threshold, description="minimum gate score")
    behavior_saturation: int = GateConfig().behavior_saturation
    same_type_cosine: float = GateConfig().same_type_cosine


@dg.multi_asset(
    group_name="validation",
    partitions_def=category_partitions,
    pool="duckdb",
    specs=[
        dg.AssetSpec("validated_relations", kinds={"duckdb"}, code_version="gate-3",
                     deps=["resolved_relations", product_embeddings, interactions],
                     description="LLM edges that passed the hallucination gate, with every signal."),
        dg.AssetSpec("rejected_relations", kinds={"duckdb"}, code_version="gate-3",
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
        titles = dict(conn.execute("SELECT product_id, title FROM products").fetchall())
        reverse = set(conn.execute(
            "SELECT DISTINCT head_id, tail_id FROM resolved_relations WHERE decision = 'product'"
        ).fetchall())
        index = load_catalog_index(conn)

        product_edges = edges[edges["decision"] == "product"]
        behaviour = behaviour_by_pair(behaviour_for_pairs(
            conn, pd.DataFrame({"head_id": product_edges["head_id"], "tail_id": product_edges["tail_id"]})))

        descriptions = dict(conn.execute(
            "SELECT product_id, description FROM products WHERE category = ?", [category]).fetchall())
        gated = judge_edges(edges, paths, reverse, behaviour, index.vector_of, descriptions, gate, titles)
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
