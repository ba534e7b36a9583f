"""Offline evaluation of the graph against real behaviour (leave-last-out)."""


import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import dagster as dg
import duckdb
import pandas as pd
import pyarrow as pa
from pydantic import Field

from pkg_assets.core.metrics import evaluate, leave_last_out
from pkg_assets.core.recommend import (
    KNOWLEDGE_RELATIONS,
    cooccurrence_knn_recommender,
    from_behaviour,
    graph_recommender,
    popularity_order,
    popularity_recommender,
    with_reverse,
)
from pkg_assets.defs.automation import GRAPH_AUTOMATION
from pkg_assets.defs.behavior.assets import mine_into_table, reselected_pairs
from pkg_assets.defs.charts import recommenders_chart
from pkg_assets.defs.graph.assets import pkg_edges
from pkg_assets.core.gate import GateConfig
from pkg_assets.defs.resolution.assets import load_catalog_index
from pkg_assets.defs.validation.assets import gate_inputs, judge_partition
from pkg_assets.resources.progress import progress
from pkg_assets.resources.warehouse import (
    WarehouseResource,
    ensure_tables,
    replace_partition,
    replace_table,
    sql_text,
)

# Tables the graph build reads besides behaviour: the knowledge side of the PKG, and what the
# gate needs to judge the LLM's edges again on training behaviour.
KNOWLEDGE_TABLES = ("products", "cluster_knowledge", "product_clusters", "resolved_relations", "product_embeddings",
                    "concepts", "interpreted_relations")


class GraphEvaluationConfig(dg.Config):
    """How the evaluation graph is mined and walked. Defaults chosen on the Beauty *validation*
    split (each user's second-to-last item; `benchmarks/recsys.py --tune`, and for the knowledge
    weights `benchmarks/knowledge.py --tune`), never on the test item."""

    window: int = Field(default=5, description="behaviour mining window on the training split")
    min_support: int = Field(default=1, description="behaviour mining minimum support on the training split")
    recent: int = Field(default=5, description="history items that vote (the most recent ones)")
    decay: float = Field(default=0.5, description="vote weight multiplier per step back in the history")
    next_item_weight: float = Field(default=3.0, description="weight of next_item edges relative to the others")
    knowledge_weight: float = Field(
        default=5.0, description="weight of the LLM's product relations (complement, substitute, ...) in the walk")
    knowledge_both_ways: bool = Field(
        default=True, description="walk the LLM's product relations from tail to head too")


def evaluation_graph(conn: duckdb.DuckDBPyConnection, train: pd.DataFrame, window: int,
                     min_support: int, gate: GateConfig | None = None,
                     knowledge: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """The PKG as production builds it (sql/pkg_edges_build.sql) from `evaluation_warehouse`, so
    no test interaction reaches the graph. Product-to-product edges."""
    with evaluation_warehouse(conn, train, window, min_support, gate, knowledge) as scratch:
        return scratch.execute(
            f"SELECT src_id, relation, dst_id, weight, sources FROM ({sql_text('pkg_edges_build')}) "
            "WHERE dst_type = 'product'"
        ).df()


@contextmanager
def evaluation_warehouse(conn: duckdb.DuckDBPyConnection, train: pd.DataFrame, window: int,
                         min_support: int, gate: GateConfig | None = None,
                         knowledge: dict[str, pd.DataFrame] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A private in-memory copy of the warehouse's knowledge with every behavioural input taken
    from the training split only:

    - behaviour edges are mined from `train`;
    - the LLM's edges are judged again by the gate's core (`judge_edges`) with behaviour
      evidence from `train`, and links that behaviour chose between tied listings count as
      unresolved (the production gate saw every interaction, test items included); its
      `validated_relations` holds the edges accepted that way;
    - the verifier's stored verdicts are reused (they come from the LLM, not from behaviour).
    `knowledge` overrides the knowledge tables. Anything derived from accepted edges (the graph,
    knowledge text) must be read from here, never from the production tables.
    """
    # Arrow, not pandas: product embeddings as object columns took several times their floats.
    knowledge = knowledge or {table: conn.execute(f"SELECT * FROM {table}").to_arrow_table()
                              for table in KNOWLEDGE_TABLES}
    verdicts = {(h, r, t): v for h, r, t, v in conn.execute(
        "SELECT head_id, relation, tail_id, sig_verifier FROM validated_relations WHERE sig_verifier IS NOT NULL "
        "UNION ALL SELECT head_id, relation, tail_id, sig_verifier FROM rejected_relations "
        "WHERE sig_verifier IS NOT NULL").fetchall()}
    with duckdb.connect() as scratch:
        ensure_tables(scratch)
        for table, frame in {**knowledge, "interactions": train.assign(session_id=train["user_id"])}.items():
            if len(frame):
                columns = {c for (c,) in scratch.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
                arrow = isinstance(frame, pa.Table)
                kept = [c for c in (frame.column_names if arrow else frame.columns) if c in columns]
                scratch.register("incoming", frame.select(kept) if arrow else frame[kept])
                scratch.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
                scratch.unregister("incoming")
        mine_into_table(scratch, "SELECT user_id, product_id, position FROM interactions", window, min_support)
        regate(scratch, gate or GateConfig(), verdicts)
        yield scratch


def regate(conn: duckdb.DuckDBPyConnection, gate: GateConfig, verdicts: dict) -> None:
    """Judge every partition's resolved relations again with the behaviour on `conn`, and keep
    the accepted edges in its `validated_relations`."""
    categories = [c for (c,) in conn.execute(
        "SELECT category FROM resolved_relations UNION SELECT category FROM interpreted_relations ORDER BY 1").fetchall()]
    if not categories:
        return
    index = load_catalog_index(conn)
    selections = dict(conn.execute("SELECT category, any_value(selection) FROM interpreted_relations GROUP BY 1").fetchall())
    for category in categories:
        # Interpretations only of the pairs the training split's behaviour selects too: pairs
        # the test interactions made strong enough must not reach the evaluated graph.
        pairs = reselected_pairs(conn, category, selections[category]) if category in selections else set()
        gated = judge_partition(gate_inputs(conn, category, index=index, drop_behaviour_ties=True,
                                            interpreted_pairs=pairs), gate, verdicts)
        replace_partition(conn, "validated_relations", gated[gated["reasons"] == ""], category)


@dg.asset(
    group_name="evaluation",
    automation_condition=GRAPH_AUTOMATION,
    deps=[pkg_edges, "interactions"],
    kinds={"duckdb", "pandas"},
    pool="duckdb",
    description="Recall@10/20 and NDCG@10/20 (leave-last-out per user, ranking over all items, history "
    "excluded) of popularity, item co-occurrence kNN, the graph from behaviour alone and the fused graph "
    "(behaviour + gated LLM edges): history -> neighbours in the PKG. The graph is rebuilt from the "
    "training split with the production SQL, so the test item never leaks.",
)
def graph_evaluation(context: dg.AssetExecutionContext, config: GraphEvaluationConfig,
                     warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as conn:
        interactions = conn.execute("SELECT user_id, product_id, position FROM interactions").df()
        train, test = leave_last_out(interactions)
        progress(context.log, f"graph_evaluation: rebuilding the graph and re-gating from the training split "
                              f"({len(train):,} interactions)")
        edges = evaluation_graph(conn, train, config.window, config.min_support)
        agreement = conn.execute(
            """
            SELECT 'accepted' AS side, avg((sig_behavior_support > 0)::INT) AS share FROM validated_relations
            WHERE decision = 'product'
            UNION ALL
            SELECT 'rejected', avg((sig_behavior_support > 0)::INT) FROM rejected_relations WHERE decision = 'product'
            """
        ).df().set_index("side")["share"].to_dict()
        knowledge_items = {p for (p,) in conn.execute(
            "SELECT product_id FROM products WHERE category IN (SELECT DISTINCT category FROM resolved_relations)"
        ).fetchall()}
    segments = {"all": test, "knowledge": test[test.isin(knowledge_items)]}

    histories = train.groupby("user_id")["product_id"].agg(list).to_dict()
    popularity = popularity_order(train)
    walk = {"recent": config.recent, "decay": config.decay, "relation_weights": {
        "next_item": config.next_item_weight, **{r: config.knowledge_weight for r in KNOWLEDGE_RELATIONS}}}
    behaviour_edges = edges[from_behaviour(edges)]
    fused = with_reverse(edges) if config.knowledge_both_ways else edges
    recommenders = {
        "popularity": popularity_recommender(train),
        "cooccurrence_knn": cooccurrence_knn_recommender(train) if len(train) else popularity_recommender(train),
        "graph_behaviour": graph_recommender(behaviour_edges, popularity, **walk),
        "graph_fused": graph_recommender(fused, popularity, **walk),
    }
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = []
    for name, recommend in recommenders.items():
        for segment, targets in segments.items():
            if segment != "all" and targets.empty:
                continue
            clock = {"said": time.monotonic()}

            def said_every_10s(done: int, total: int, name=name, segment=segment, clock=clock) -> None:
                if time.monotonic() - clock["said"] >= 10:
                    progress(context.log, f"graph_evaluation: {name} [{segment}] {done:,}/{total:,} users")
                    clock["said"] = time.monotonic()

            scores = evaluate(recommend, histories, targets, on_progress=said_every_10s)
            progress(context.log, f"graph_evaluation: {name} [{segment}]: "
                     + ", ".join(f"{m} {v:.4f}" for m, v in scores.items() if m != "users"))
            for metric, value in scores.items():
                if metric == "users":
                    continue
                kind, k = metric.split("@")
                rows.append({"recommender": name, "metric": kind, "k": int(k), "value": value,
                             "n_users": scores["users"], "segment": segment, "evaluated_at": now})
    for side, share in agreement.items():
        rows.append({"recommender": "llm_edges", "metric": f"behavior_agreement_{side}", "k": None,
                     "value": float(share) if share is not None and not pd.isna(share) else 0.0,
                     "n_users": len(test), "segment": "all", "evaluated_at": now})
    frame = pd.DataFrame(rows)
    with warehouse.connect() as conn:
        replace_table(conn, "graph_evaluation", frame)
    ranked = frame[frame["k"].notna() & (frame["segment"] == "all")]
    table = ranked.pivot_table(index="recommender", columns=["metric", "k"], values="value")
    md = "| recommender | Recall@10 | NDCG@10 | Recall@20 | NDCG@20 |\n|---|---|---|---|---|\n" + "\n".join(
        f"| {name} | {row[('recall', 10)]:.4f} | {row[('ndcg', 10)]:.4f} | {row[('recall', 20)]:.4f} | "
        f"{row[('ndcg', 20)]:.4f} |" for name, row in table.loc[list(recommenders)].iterrows()
    )
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(frame),
        "test_users": len(test),
        "evaluation_graph_edges": len(edges),
        "results": dg.MetadataValue.md(md),
        "results_chart": recommenders_chart(frame, list(recommenders)),
        **{f"{name}_ndcg10": round(float(table.loc[name, ("ndcg", 10)]), 4) for name in recommenders},
        **{f"{name}_ndcg10_knowledge_users": round(float(v), 4) for name, v in frame[
            (frame["segment"] == "knowledge") & (frame["metric"] == "ndcg") & (frame["k"] == 10)].set_index(
            "recommender")["value"].items()},
        "knowledge_test_users": len(segments["knowledge"]),
        "llm_edges_with_behavior_support": round(float(agreement.get("accepted") or 0.0), 4),
    })
