"""The graph as a recommender on amazon-beauty, against published results.

    .venv/bin/python benchmarks/recsys.py            # the table (about 2 minutes)
    .venv/bin/python benchmarks/recsys.py --tune     # the validation sweep the defaults come from
    .venv/bin/python benchmarks/recsys.py --catalog PATH [--interactions PATH]
                                                     # the same table on your own catalog (any
                                                     # reader setting, e.g. PKG_CATALOG_SEP, applies)

Protocol (the standard one for this split): leave-last-out per user — each user's last item
is the test item, the one before it validation — ranking over all 12,077 items with the
user's history excluded; Recall@10/20 and NDCG@10/20 averaged over users. The numbers come
from the `graph_evaluation` asset materialised through Dagster on the ingested data:
popularity, item co-occurrence kNN (cosine of the items' user sets), and the graph
recommender (the history's neighbours in the PKG, rebuilt from the training split with the
production SQL). No LLM edges here (no LLM runs on this machine): the PKG is its behaviour
part, `graph_behaviour` = `graph_fused`.

`--tune` sweeps the walk (recent items, decay, next_item weight) and the mining window on
the *validation* item, training on everything before it; the asset's defaults are its best.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BEAUTY, fresh_pipeline, machine, materialise_catalog, peak_rss_mb  # noqa: E402
from pkg_assets.resources.warehouse import open_folder_warehouse  # noqa: E402

PUBLISHED = [  # (name, source, Recall@10, NDCG@10, protocol note)
    ("LlamaRec", "arXiv 2311.02089", 0.0971, 0.0554,
     "LLM ranks 20 candidates from a sequential retriever; same leave-last-out, all-item ranking"),
    ("LlamaRec-LKG-RAG", "arXiv 2506.07449", 0.0868, 0.0498,
     "LlamaRec with knowledge-graph retrieval; same split"),
]


def tune() -> None:
    import duckdb

    from pkg_assets.core import catalog as core_catalog
    from pkg_assets.core.metrics import evaluate, leave_last_out
    from pkg_assets.core.recommend import graph_recommender, popularity_order
    from pkg_assets.defs.evaluation.assets import evaluation_graph
    from pkg_assets.resources.warehouse import ensure_tables

    source = core_catalog.resolve_source(BEAUTY)
    interactions = core_catalog.load_interactions(
        source, set(core_catalog.load_products(source).products["product_id"])).kept
    train, _ = leave_last_out(interactions[["user_id", "product_id", "position"]])
    fit, validation = leave_last_out(train)  # the validation item: never the test item
    histories = fit.groupby("user_id")["product_id"].agg(list).to_dict()
    popularity = popularity_order(fit)
    print("| window | recent | decay | next_item weight | NDCG@10 (validation) | Recall@10 |")
    print("|---|---|---|---|---|---|")
    for window in (3, 5):
        with duckdb.connect() as conn:
            ensure_tables(conn)
            edges = evaluation_graph(conn, fit, window, 1)
        for recent, decay, next_weight in ((1, 1.0, 1.0), (3, 0.7, 1.0), (3, 0.7, 3.0), (5, 0.5, 1.0), (5, 0.5, 3.0),
                                           (5, 0.5, 5.0), (8, 0.5, 3.0)):
            scores = evaluate(graph_recommender(edges, popularity, recent, decay, {"next_item": next_weight}),
                              histories, validation, ks=(10,))
            print(f"| {window} | {recent} | {decay} | {next_weight} | {scores['ndcg@10']:.4f} | "
                  f"{scores['recall@10']:.4f} |", flush=True)


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description="The graph as a recommender (leave-last-out).")
    parser.add_argument("--tune", action="store_true", help="the validation sweep (amazon-beauty)")
    parser.add_argument("--catalog", help="your catalog (default: ../shared/data/amazon-beauty)")
    parser.add_argument("--interactions", help="your interactions file (default: beside the catalog)")
    args = parser.parse_args()
    catalog = Path(args.catalog).expanduser().resolve() if args.catalog else BEAUTY
    if not catalog.exists():
        print(f"skipped: {catalog} is absent")
        return 0
    if args.tune:
        tune()
        return 0

    env = {"PKG_CATALOG_PATH": str(catalog)}
    if args.interactions:
        env["PKG_INTERACTIONS_PATH"] = str(Path(args.interactions).expanduser().resolve())
    started = time.perf_counter()
    with fresh_pipeline(**env) as (instance, defs, data):
        timings = materialise_catalog(instance, defs, ["graph_evaluation"])
        with open_folder_warehouse(data) as conn:
            rows = conn.execute("SELECT recommender, metric, k, value, n_users FROM graph_evaluation "
                                "WHERE k IS NOT NULL AND segment = 'all'").fetchall()
    wall = time.perf_counter() - started
    found = {(r, m, k): v for r, m, k, v, _ in rows}
    users = rows[0][4]
    print(f"catalog: {catalog}")
    print(f"machine: {machine()}")
    print(f"test users: {users}; items ranked: all; history excluded")
    print("| recommender | Recall@10 | NDCG@10 | Recall@20 | NDCG@20 |")
    print("|---|---|---|---|---|")
    for name in ("popularity", "cooccurrence_knn", "graph_behaviour", "graph_fused"):
        print(f"| {name} | {found[(name, 'recall', 10)]:.4f} | {found[(name, 'ndcg', 10)]:.4f} | "
              f"{found[(name, 'recall', 20)]:.4f} | {found[(name, 'ndcg', 20)]:.4f} |")
    for name, source, recall, ndcg, note in PUBLISHED if catalog == BEAUTY else ():
        print(f"| {name} (published, {source}) | {recall:.4f} | {ndcg:.4f} | – | – |  {note}")
    print(f"graph_evaluation_s: {timings['graph_evaluation_s']:.1f}")
    print(f"wall_s: {wall:.1f}")
    print(f"peak_rss_mb: {peak_rss_mb():.0f}")
    print(f"popularity_ndcg10: {found[('popularity', 'ndcg', 10)]:.4f}")
    print(f"cooc_ndcg10: {found[('cooccurrence_knn', 'ndcg', 10)]:.4f}")
    print(f"graph_ndcg10: {found[('graph_fused', 'ndcg', 10)]:.4f}")
    print(f"graph_recall10: {found[('graph_fused', 'recall', 10)]:.4f}")
    return 0


if __name__ == "__main__":
    from pkg_assets.cli import _exit

    _exit(main())
