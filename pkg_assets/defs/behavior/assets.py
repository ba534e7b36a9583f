"""Behaviour mining: co-purchase and next-item relations from interactions, and the LLM's
interpretation of the strongest co-purchases (why they go together)."""


import dagster as dg
from pydantic import Field

from pkg_assets.core.extraction import parse_answer
from pkg_assets.core.interpretation import interpreted_rows, outcome_summary, pair_key
from pkg_assets.core.models import InterpretationAnswer
from pkg_assets.core.prompts import INTERPRET_PROMPT, pair_prompt_input
from pkg_assets.defs.automation import GRAPH_AUTOMATION, LLM_RETRY
from pkg_assets.defs.catalog.assets import interactions, products
from pkg_assets.defs.metadata import counts_table, preview
from pkg_assets.defs.partitions import category_partitions
from pkg_assets.defs.resolution.assets import known_concept_ids
from pkg_assets.resources.llm import LLMRequest, LLMResource, parse_results
from pkg_assets.resources.progress import query_progress
from pkg_assets.resources.warehouse import WarehouseResource, replace_partition, replace_table, sql_text


class BehaviorConfig(dg.Config):
    window: int = Field(default=5, description="positions ahead in a history that count as co-occurring")
    min_support: int = Field(default=2, description="minimum users (co_purchased) / transitions (next_item)")


def mine_behavior(conn, source_sql: str, window: int, min_support: int) -> str:
    """The SELECT that mines behaviour edges from `source_sql` (registered as behavior_input)."""
    conn.execute(f"CREATE OR REPLACE TEMP VIEW behavior_input AS {source_sql}")
    return sql_text("behavior_edges_build")


def mine_into_table(conn, source_sql: str, window: int, min_support: int) -> None:
    """Append the behaviour mined from `source_sql` to `behavior_edges` on `conn` (a private
    warehouse: the evaluation's, pkg-recordings' plan). Written to the table, not fetched:
    fetching this query's result into Python never returned on amazon-beauty's training split
    (duckdb 1.5.5, idle at 0% CPU), while writing it takes a quarter of a second."""
    select = mine_behavior(conn, source_sql, window, min_support)
    conn.execute(f"INSERT INTO behavior_edges BY NAME {select}", {"window": window, "min_support": min_support})


@dg.asset(
    group_name="behavior",
    automation_condition=GRAPH_AUTOMATION,
    deps=[interactions],
    kinds={"duckdb"},
    pool="duckdb",
    description="co_purchased (users with both items within a window; support, lift, Jaccard) and "
    "next_item (P(next | item)) edges. Cost grows with interactions x window, not with pairs of products.",
)
def behavior_edges(context: dg.AssetExecutionContext, config: BehaviorConfig,
                   warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as conn:
        select = mine_behavior(conn, "SELECT user_id, product_id, position FROM interactions",
                               config.window, config.min_support)
        with query_progress(conn, context.log, "behaviour mining"):
            rows = replace_table(conn, "behavior_edges", select_sql=select,
                                 params={"window": config.window, "min_support": config.min_support})
        frame = conn.execute("SELECT * FROM behavior_edges ORDER BY support DESC LIMIT 10").df()
        by_relation = conn.execute("SELECT relation FROM behavior_edges").df()["relation"]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "by_relation": counts_table(by_relation, "relation"),
        "window": config.window,
        "min_support": config.min_support,
        "strongest": preview(frame, ["src_id", "relation", "dst_id", "support", "lift", "score"]),
    })


class InterpretationConfig(dg.Config):
    """Which co-purchased pairs are interpreted (sql/interpreted_pairs.sql), and the call budget."""

    min_support: int = Field(default=3, ge=1, description="users who bought both, at least")
    min_lift: float = Field(default=1.5, ge=0.0, description="observed over expected co-purchases, at least")
    per_product: int = Field(default=3, ge=1, description="selected pairs per product, at most (the strongest)")
    max_calls: int = Field(default=500, ge=0, description="pairs asked per category, at most (the strongest)")
    force: bool = Field(default=False, description="ask again even when the ledger has an answer")


def select_pairs(conn, category: str, config: InterpretationConfig):
    """Every co-purchased pair the category owns (in `behavior_edges` on `conn`), with the
    `stage` where selection stopped it."""
    return conn.execute(sql_text("interpreted_pairs"), {
        "category": category, "min_support": config.min_support, "min_lift": config.min_lift,
        "per_product": config.per_product, "max_calls": config.max_calls}).df()


def reselected_pairs(conn, category: str, selection_json: str) -> set[tuple[str, str]]:
    """The (a, b) pairs the thresholds recorded with a partition's interpretations select from
    the behaviour on `conn` (the evaluation's training split)."""
    config = InterpretationConfig.model_validate_json(selection_json)
    pairs = select_pairs(conn, category, config)
    pairs = pairs[pairs["stage"] == "selected"]
    return set(zip(pairs["a_id"], pairs["b_id"]))


def interpretation_requests(pairs, fields: dict[str, dict], category: str) -> list[LLMRequest]:
    requests = []
    for a_id, b_id in zip(pairs["a_id"], pairs["b_id"]):
        prompt_input = pair_prompt_input(fields[a_id], fields[b_id])
        requests.append(LLMRequest(
            prompt=INTERPRET_PROMPT, prompt_input=prompt_input, render_context=prompt_input,
            replay_key=pair_key(a_id, b_id), partition=category,
            subject=f"pair {a_id} ({fields[a_id]['title'][:40]!r}) + {b_id} ({fields[b_id]['title'][:40]!r})",
            schema=InterpretationAnswer,
        ))
    return requests


@dg.asset(
    group_name="behavior",
    partitions_def=category_partitions,
    deps=[behavior_edges, products, "concepts"],
    kinds={"duckdb", "litellm"},
    pool="llm",
    retry_policy=LLM_RETRY,
    description="Why the strongest co-purchased pairs go together, one LLM call per pair: a relation "
    "of the vocabulary (typed edges the hallucination gate then judges, source llm_interpreted), a "
    "shared occasion, audience or usage, or 'none'. Pairs by support, lift and a per-product cap, "
    "within a call budget.",
)
def interpreted_relations(context: dg.AssetExecutionContext, config: InterpretationConfig, llm: LLMResource,
                          warehouse: WarehouseResource) -> dg.MaterializeResult:
    category = context.partition_key
    with warehouse.connect() as conn:
        candidates = select_pairs(conn, category, config)
        selected = candidates[candidates["stage"] == "selected"].reset_index(drop=True)
        ids = sorted(set(selected["a_id"]) | set(selected["b_id"]))
        fields = {r["product_id"]: r for r in conn.execute(
            "SELECT product_id, title, brand, category_path FROM products WHERE list_contains(?, product_id)",
            [ids]).df().to_dict("records")}
        known_concepts = known_concept_ids(conn)
    by_stage = candidates["stage"].value_counts()
    context.log.info(f"interpretation: {len(selected)} of {len(candidates)} co-purchased pairs selected "
                     f"({dict(by_stage)})")
    requests = interpretation_requests(selected, fields, category)
    # The warehouse is not held while the LLM answers: the ledger opens it per group commit.
    results, stats = llm.ask(warehouse, requests, force=config.force, log=context.log)
    with warehouse.connect() as conn:
        parsed = parse_results(conn, results, lambda text: parse_answer(text, InterpretationAnswer))
        pair_of = {pair_key(a, b): (a, b) for a, b in zip(selected["a_id"], selected["b_id"])}
        answers = {pair_of[r.request.replay_key]: (r.call_id, answer) for r, answer in parsed.answers}
        invalid = {pair_of[r.request.replay_key]: (r.call_id, reason) for r, reason in parsed.rejected}
        stats.raise_if_failed("pair interpretations")
        frame = interpreted_rows(category, selected, answers, invalid, known_concepts, llm.model,
                                 INTERPRET_PROMPT.version, config.model_dump_json(exclude={"force"}))
        replace_partition(conn, "interpreted_relations", frame, category)
    summary = outcome_summary(frame, len(candidates))
    if parsed.invalid:
        context.log.warning(f"{len(parsed.invalid)} pair interpretations failed their schema and are kept as "
                            "'invalid' in llm_calls and interpreted_relations")
    context.log.info(f"interpretation: {summary}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(frame),
        **stats.as_metadata(),
        **summary,
        "co_purchased_pairs": len(candidates),
        "pairs_by_stage": counts_table(candidates["stage"], "stage"),
        "by_relation": counts_table(frame["relation"].fillna("(no answer)"), "relation"),
        "thresholds": dg.MetadataValue.json(config.model_dump(exclude={"force"})),
        "preview": preview(frame, ["a_id", "b_id", "support", "relation", "src_id", "concept", "rationale"]),
    })
