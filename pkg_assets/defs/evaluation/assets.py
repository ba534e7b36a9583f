"""Offline evaluation of the graph against real behaviour (leave-last-out)."""


from collections import Counter, defaultdict
from datetime import datetime, timezone

import dagster as dg
import pandas as pd

from pkg_assets.core.metrics import evaluate, leave_last_out
from pkg_assets.defs.behavior.assets import mine_behavior
from pkg_assets.defs.graph.assets import pkg_edges
from pkg_assets.resources.warehouse import WarehouseResource, replace_table

RECENT_ITEMS = 3
DECAY = 0.7


def neighbour_recommender(edges: pd.DataFrame, popularity: list[str]):
    """Score items by summed edge weights from the recent history, pad with popular items."""
    neighbours: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for src, dst, weight in edges[["src_id", "dst_id", "weight"]].itertuples(index=False):
        neighbours[src].append((dst, float(weight)))

    def recommend(history: list[str], k: int) -> list[str]:
        scores: Counter = Counter()
        for age, item in enumerate(reversed(history[-RECENT_ITEMS:])):
            for dst, weight in neighbours.get(item, ()):
                scores[dst] += weight * DECAY ** age
        ranked = [item for item, _ in scores.most_common(k)]
        seen = set(ranked)
        ranked += [item for item in popularity if item not in seen][: max(0, k - len(ranked))]
        return ranked

    return recommend


@dg.asset(
    group_name="evaluation",
    deps=[pkg_edges, "interactions"],
    kinds={"duckdb", "pandas"},
    pool="duckdb",
    description="Recall@k / NDCG@k (leave-last-out, ranking over all items) of popularity, behaviour "
    "co-occurrence, the LLM graph, and the fused graph; plus how often gated LLM edges agree with behaviour. "
    "Behaviour edges here are re-mined from the training split only, so the test item never leaks.",
)
def graph_evaluation(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as conn:
        interactions = conn.execute("SELECT user_id, product_id, position FROM interactions").df()
        train, test = leave_last_out(interactions)
        conn.register("eval_train", train)
        try:
            select = mine_behavior(conn, "SELECT * FROM eval_train", window=5, min_support=1)
            train_behaviour = conn.execute(select, {"window": 5, "min_support": 1}).df()
        finally:
            conn.unregister("eval_train")
        train_behaviour["weight"] = train_behaviour["score"]
        llm_edges = conn.execute(
            "SELECT head_id AS src_id, tail_id AS dst_id, gate_score AS weight FROM validated_relations "
            "WHERE decision = 'product'"
        ).df()
        agreement = conn.execute(
            """
            SELECT 'accepted' AS side, avg((sig_behavior_support > 0)::INT) AS share FROM validated_relations
            WHERE decision = 'product'
            UNION ALL
            SELECT 'rejected', avg((sig_behavior_support > 0)::INT) FROM rejected_relations WHERE decision = 'product'
            """
        ).df().set_index("side")["share"].to_dict()

    histories = train.groupby("user_id")["product_id"].agg(list).to_dict()
    popularity = train["product_id"].value_counts().index.tolist()
    recommenders = {
        "popularity": lambda history, k: popularity[:k],
        "behavior_cooccurrence": neighbour_recommender(train_behaviour, popularity),
        "llm_graph": neighbour_recommender(llm_edges, popularity),
        "fused_graph": neighbour_recommender(pd.concat([train_behaviour[["src_id", "dst_id", "weight"]], llm_edges]),
                                             popularity),
    }
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    rows = []
    for name, recommend in recommenders.items():
        scores = evaluate(recommend, histories, test)
        for metric, value in scores.items():
            if metric == "users":
                continue
            kind, k = metric.split("@")
            rows.append({"recommender": name, "metric": kind, "k": int(k), "value": value,
                         "n_users": scores["users"], "evaluated_at": now})
    for side, share in agreement.items():
        rows.append({"recommender": "llm_edges", "metric": f"behavior_agreement_{side}", "k": None,
                     "value": float(share) if share is not None and not pd.isna(share) else 0.0,
                     "n_users": len(test), "evaluated_at": now})
    frame = pd.DataFrame(rows)
    with warehouse.connect() as conn:
        replace_table(conn, "graph_evaluation", frame)
    table = frame[frame["k"] == 10].pivot(index="recommender", columns="metric", values="value").round(4)
    md = "| recommender | recall@10 | ndcg@10 |\n|---|---|---|\n" + "\n".join(
        f"| {name} | {row['recall']:.4f} | {row['ndcg']:.4f} |" for name, row in table.iterrows()
    )
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(frame),
        "test_users": len(test),
        "results@10": dg.MetadataValue.md(md),
        **{f"{name}_ndcg10": float(table.loc[name, "ndcg"]) for name in table.index},
        "llm_edges_with_behavior_support": round(float(agreement.get("accepted") or 0.0), 4),
    })
