"""The hallucination gate: every LLM edge scored from per-edge signals, accepted or rejected."""



from dataclasses import dataclass

import dagster as dg
import pandas as pd
from pydantic import Field

from pkg_assets.core.extraction import parse_answer
from pkg_assets.core.interpretation import gate_proposals
from pkg_assets.core.gate import GateConfig, aggregate_proposals, behaviour_by_pair, borderline, judge_edges
from pkg_assets.core.models import VerifierAnswer
from pkg_assets.core.resolve import product_traits
from pkg_assets.core.prompts import VERIFIER_PROMPT, verifier_prompt_input
from pkg_assets.defs.catalog.assets import interactions
from pkg_assets.defs.charts import acceptance_by_relation_chart, gate_score_chart
from pkg_assets.defs.metadata import counts_table, preview
from pkg_assets.defs.partitions import category_partitions
from pkg_assets.defs.resolution.assets import load_catalog_index, product_embeddings
from pkg_assets.resources.llm import LLMRequest, LLMResource, parse_results
from pkg_assets.resources.warehouse import WarehouseResource, behaviour_for_pairs, replace_partition

class GateRunConfig(dg.Config):
    """Thresholds of the gate (core/gate.py documents each) and the optional verifier pass."""

    accept_threshold: float = Field(default=GateConfig().accept_threshold, description="minimum gate score")
    behavior_saturation: int = GateConfig().behavior_saturation
    same_type_cosine: float = GateConfig().same_type_cosine
    accessory_min_cosine: float = GateConfig().accessory_min_cosine
    min_behavior_support: int = GateConfig().min_behavior_support
    min_neighbourhood: float = GateConfig().min_neighbourhood
    plausible_cosine: float = GateConfig().plausible_cosine
    require_evidence: bool = GateConfig().require_evidence
    verifier: bool = Field(default=False, description="ask the LLM (same ledger) about borderline edges")
    verifier_max_calls: int = Field(default=2000, description="refuse to run the verifier on more edges than this")

    def gate(self) -> GateConfig:
        return GateConfig(**{name: getattr(self, name) for name in GateConfig.model_fields if hasattr(self, name)})


def verify_borderline(context, warehouse: WarehouseResource, llm: LLMResource, gated: pd.DataFrame,
                      gate: GateConfig, config: GateRunConfig, products: dict[str, dict]) -> tuple[dict[tuple[str, str, str], str], dict]:
    """Ask the verifier LLM about borderline edges; (verdicts, metadata)."""
    ask = gated[borderline(gated, gate)]
    if len(ask) > config.verifier_max_calls:
        raise dg.Failure(
            description=f"verifier: {len(ask)} borderline edges exceed verifier_max_calls={config.verifier_max_calls}; "
            "raise the limit in the run config or tighten the gate first (estimate the cost with estimate_llm_job)")
    requests, edge_of = [], {}
    for edge in ask.to_dict("records"):
        prompt_input = verifier_prompt_input(products[edge["head_id"]], edge["relation"], products[edge["tail_id"]])
        edge_of[f"verify/{edge['head_id']}/{edge['relation']}/{edge['tail_id']}"] = (
            edge["head_id"], edge["relation"], edge["tail_id"])
        requests.append(LLMRequest(
            prompt=VERIFIER_PROMPT, prompt_input=prompt_input, render_context=prompt_input,
            replay_key=f"verify/{edge['head_id']}/{edge['relation']}/{edge['tail_id']}", partition=edge["category"],
            subject=f"verify {edge['head_id']} {edge['relation']} {edge['tail_id']}", schema=VerifierAnswer,
        ))
    results, stats = llm.ask(warehouse, requests, log=context.log)
    with warehouse.connect() as conn:
        parsed = parse_results(conn, results, lambda text: parse_answer(text, VerifierAnswer))
    # An edge whose answer is invalid gets no verdict: it keeps the gate's own decision.
    verdicts = {edge_of[result.request.replay_key]: answer.verdict for result, answer in parsed.answers}
    invalid = len(parsed.invalid)
    return verdicts, {"verifier_asked": len(requests), "verifier_yes": sum(v == "yes" for v in verdicts.values()),
                      "verifier_no": sum(v == "no" for v in verdicts.values()), "verifier_invalid": invalid,
                      **{f"verifier_{k}": v for k, v in stats.as_metadata().items()}}


@dataclass
class GateInputs:
    """Everything the gate reads for one partition; `behaviour` comes from whatever table is
    named `interactions` on the connection (the evaluation passes its training split)."""

    edges: pd.DataFrame
    paths: dict
    titles: dict
    reverse: set
    behaviour: dict
    descriptions: dict
    vector_of: object
    traits: dict


def gate_inputs(conn, category: str, index=None, drop_behaviour_ties: bool = False,
                interpreted_pairs: set[tuple[str, str]] | None = None) -> GateInputs:
    """Read one partition's resolved relations, its interpreted co-purchases (as proposals of
    the factor `interpreted`) and every signal's inputs.

    `drop_behaviour_ties` treats links that behaviour chose between tied listings as
    unresolved, and `interpreted_pairs` keeps only the interpretations of those (a, b) pairs:
    the leak-free evaluation must not let the test interactions pick a tail or a pair either.
    """
    resolved = conn.execute("SELECT * FROM resolved_relations WHERE category = ?", [category]).df()
    if drop_behaviour_ties and len(resolved):
        by_behaviour = resolved["resolution_reason"].fillna("").str.startswith("ambiguous between")
        resolved.loc[by_behaviour, ["decision", "tail_id"]] = ["unresolved", None]
    descriptions = dict(conn.execute(
        "SELECT product_id, description FROM products WHERE category = ?", [category]).fetchall())
    interpreted = conn.execute("SELECT * FROM interpreted_relations WHERE category = ?", [category]).df()
    if interpreted_pairs is not None:
        keep = [(a, b) in interpreted_pairs for a, b in zip(interpreted["a_id"], interpreted["b_id"])]
        interpreted = interpreted[pd.Series(keep, index=interpreted.index, dtype=bool)]  # ([] would pick columns)
    proposals = gate_proposals(interpreted, set(descriptions))  # the partition's products
    if len(proposals):
        resolved = pd.concat([resolved, proposals], ignore_index=True) if len(resolved) else proposals
    edges = aggregate_proposals(resolved)
    index = index if index is not None else load_catalog_index(conn)
    product_edges = edges[edges["decision"] == "product"]
    behaviour = behaviour_by_pair(behaviour_for_pairs(
        conn, pd.DataFrame({"head_id": product_edges["head_id"], "tail_id": product_edges["tail_id"]})))
    return GateInputs(
        edges=edges,
        paths=dict(conn.execute("SELECT product_id, category_path FROM products").fetchall()),
        titles=dict(conn.execute("SELECT product_id, title FROM products").fetchall()),
        reverse=set(conn.execute(
            "SELECT DISTINCT head_id, tail_id FROM resolved_relations WHERE decision = 'product'").fetchall()),
        behaviour=behaviour,
        descriptions=descriptions,
        vector_of=index.vector_of,
        traits=product_traits(index),
    )


def judge_partition(inputs: GateInputs, gate: GateConfig, verdicts: dict | None = None) -> pd.DataFrame:
    return judge_edges(inputs.edges, inputs.paths, inputs.reverse, inputs.behaviour, inputs.vector_of,
                       inputs.descriptions, gate, inputs.titles, verdicts, traits=inputs.traits)


@dg.multi_asset(
    group_name="validation",
    partitions_def=category_partitions,
    pool="duckdb",
    specs=[
        dg.AssetSpec("validated_relations", kinds={"duckdb"},
                     deps=["resolved_relations", "interpreted_relations", product_embeddings, interactions],
                     description="LLM edges that passed the hallucination gate, with every signal."),
        dg.AssetSpec("rejected_relations", kinds={"duckdb"},
                     deps=["resolved_relations", "interpreted_relations", product_embeddings, interactions],
                     description="LLM edges the gate rejected: every signal kept, plus the reasons."),
    ],
)
def hallucination_gate(context: dg.AssetExecutionContext, config: GateRunConfig, warehouse: WarehouseResource,
                       llm: LLMResource):
    category = context.partition_key
    gate = config.gate()
    with warehouse.connect() as conn:
        inputs = gate_inputs(conn, category)
        products = ({r["product_id"]: r for r in conn.execute(
            "SELECT product_id, title, brand, category_path FROM products").df().to_dict("records")}
            if config.verifier else {})
    gated = judge_partition(inputs, gate)
    verifier_metadata = {}
    if config.verifier:  # the warehouse is free while the verifier LLM answers
        verdicts, verifier_metadata = verify_borderline(context, warehouse, llm, gated, gate, config, products)
        gated = judge_partition(inputs, gate, verdicts)
    with warehouse.connect() as conn:
        accepted = gated[gated["reasons"] == ""]
        rejected = gated[gated["reasons"] != ""]
        replace_partition(conn, "validated_relations", accepted, category)
        replace_partition(conn, "rejected_relations", rejected, category)

    rate = len(accepted) / len(gated) if len(gated) else 0.0
    context.log.info(f"gate: {len(accepted)} accepted, {len(rejected)} rejected ({rate:.0%} accepted)")
    yield dg.MaterializeResult(asset_key="validated_relations", metadata={
        "dagster/row_count": len(accepted),
        "acceptance_rate": round(rate, 4),
        "gate_config": dg.MetadataValue.json(gate.model_dump()),
        **verifier_metadata,
        "accepted_by_relation": counts_table(accepted["relation"], "relation"),
        **({"gate_scores": gate_score_chart(gated, gate.accept_threshold),
            "acceptance_by_relation": acceptance_by_relation_chart(gated)} if len(gated) else {}),
        "preview": preview(accepted.sort_values("gate_score", ascending=False),
                           ["head_id", "relation", "tail_mention", "tail_id", "gate_score"]),
    })
    yield dg.MaterializeResult(asset_key="rejected_relations", metadata={
        "dagster/row_count": len(rejected),
        "rejected_by_reason": counts_table(rejected["reasons"].str.split(":").str[0], "reason"),
        "rejected_by_relation": counts_table(rejected["relation"], "relation"),
        "preview": preview(rejected, ["head_id", "relation", "tail_mention", "reasons"]),
    })
