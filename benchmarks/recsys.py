"""The graph as a recommender on amazon-beauty, against published results.

    .venv/bin/python benchmarks/recsys.py            # the table (about 2 minutes)
    .venv/bin/python benchmarks/recsys.py --tune     # the validation sweep the defaults come from
    .venv/bin/python benchmarks/recsys.py --vectorised
                                                     # the per-user loops the evaluation and the
                                                     # personalisation used to run (benchmarks/
                                                     # _reference.py) against today's vectorised
                                                     # code, side by side on the same inputs
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

`--vectorised` times `evaluate` for the four recommenders of `graph_evaluation` (built and
evaluated over every test user, the walk at the asset's defaults) and `relation_preferences` +
`kg_context` (every user's whole history, the asset's defaults) in the old per-user
implementation and in the package's, checks both give the same figures and rows, and prints
both times. The graph: behaviour edges mined with the production SQL (sql/behavior_edges_build
and pkg_edges_build) from the training split for the evaluation and from every interaction for
the personalisation, plus two concept edges per product from the catalog's own category and
brand (stand-ins for the LLM's concepts, which need an LLM run). The SQL runs as CREATE TABLE AS:
fetching the mining SELECT's result directly never returns on amazon-beauty with duckdb 1.5.5.
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


def production_graph(products, interactions, window: int = 5, min_support: int = 1):
    """pkg_edges as the pipeline builds them from `interactions` alone (no LLM edges):
    src_id, relation, dst_id, dst_type, weight, sources."""
    import duckdb

    from pkg_assets.defs.behavior.assets import mine_behavior
    from pkg_assets.resources.warehouse import ensure_tables, sql_text

    with duckdb.connect() as conn:
        ensure_tables(conn)
        conn.register("catalog_products", products)
        conn.execute("INSERT INTO products BY NAME SELECT * FROM catalog_products")
        conn.register("behaviour_source", interactions[["user_id", "product_id", "position"]])
        select = mine_behavior(conn, "SELECT user_id, product_id, position FROM behaviour_source", window, min_support)
        conn.execute(f"CREATE TEMP TABLE mined AS {select}", {"window": window, "min_support": min_support})
        conn.execute("INSERT INTO behavior_edges BY NAME SELECT * FROM mined")
        conn.execute(f"CREATE TEMP TABLE built AS SELECT src_id, relation, dst_id, dst_type, weight, sources "
                     f"FROM ({sql_text('pkg_edges_build')})")
        return conn.execute("SELECT * FROM built").df()


def vectorised() -> dict[str, float]:
    """Old per-user loops vs the vectorised code (module docstring); returns the figures."""
    import math

    import pandas as pd

    import _reference as old
    from pkg_assets.core import catalog as core_catalog
    from pkg_assets.core import personalization as new_personalization
    from pkg_assets.core import recommend as new_recommend
    from pkg_assets.core.metrics import evaluate, leave_last_out
    from pkg_assets.defs.evaluation.assets import GraphEvaluationConfig
    from pkg_assets.defs.personalization.assets import ContextConfig

    source = core_catalog.resolve_source(BEAUTY)
    products = core_catalog.load_products(source).products
    interactions = core_catalog.load_interactions(source, set(products["product_id"])).kept
    train, test = leave_last_out(interactions[["user_id", "product_id", "position"]])
    histories = train.groupby("user_id")["product_id"].agg(list).to_dict()
    popularity = new_recommend.popularity_order(train)
    defaults = GraphEvaluationConfig()
    knowledge = {relation: defaults.knowledge_weight for relation in new_recommend.KNOWLEDGE_RELATIONS}
    walk = {"recent": defaults.recent, "decay": defaults.decay,
            "relation_weights": {"next_item": defaults.next_item_weight, **knowledge}}
    started = time.perf_counter()
    edges = production_graph(products, train, defaults.window, defaults.min_support)
    print(f"evaluation graph: {len(edges):,} edges in {time.perf_counter() - started:.1f}s", flush=True)
    fused = new_recommend.with_reverse(edges)
    # The asset's recommenders, built by the old module or the new one (same names in both); no
    # LLM edges here, so the fused graph is the behaviour graph.
    builders = {
        "popularity": lambda module: module.popularity_recommender(train),
        "cooccurrence_knn": lambda module: module.cooccurrence_knn_recommender(train),
        "graph_behaviour": lambda module: module.graph_recommender(edges, popularity, **walk),
        "graph_fused": lambda module: module.graph_recommender(fused, popularity, **walk),
    }
    rows, figures = [], {"test_users": len(test)}
    for name, build in builders.items():
        started = time.perf_counter()
        expected = old.evaluate(build(old), histories, test)
        old_s = time.perf_counter() - started
        started = time.perf_counter()
        scores = evaluate(build(new_recommend), histories, test)
        new_s = time.perf_counter() - started
        assert all(math.isclose(scores[m], expected[m], rel_tol=0, abs_tol=1e-9) for m in expected), (name, scores)
        figures[f"{name}_ndcg10"] = scores["ndcg@10"]
        rows.append((f"evaluate: {name}", len(test), old_s, new_s))
        print(f"  {name}: old {old_s:.1f}s, new {new_s:.1f}s, NDCG@10 {scores['ndcg@10']:.4f}", flush=True)
    rows.append(("evaluate: all four", len(test), sum(r[2] for r in rows), sum(r[3] for r in rows)))

    everyone = (interactions.sort_values(["user_id", "position"], kind="stable")
                .groupby("user_id")["product_id"].agg(list).to_dict())
    category = products["category_path"].str.split(" > ").str[2].fillna("none")
    concepts = pd.concat([
        pd.DataFrame({"src_id": products["product_id"], "relation": "used_for", "dst_id": "category: " + category}),
        pd.DataFrame({"src_id": products["product_id"], "relation": "for_audience",
                      "dst_id": "brand: " + products["brand"].fillna("none")}),
    ]).assign(dst_type="concept", weight=0.8)
    graph = pd.concat([production_graph(products, interactions), concepts], ignore_index=True)
    relations = sorted(graph["relation"].unique())
    names = dict(zip(products["product_id"], products["title"]))
    context = ContextConfig()
    print(f"personalisation graph: {len(graph):,} edges ({len(concepts):,} to concepts)", flush=True)
    frames = {}
    for side, module in (("old", old), ("new", new_personalization)):
        started = time.perf_counter()
        preferences = module.relation_preferences(everyone, graph, relations)
        preferences_s = time.perf_counter() - started
        started = time.perf_counter()
        paths = module.kg_context(everyone, preferences, graph, names, context.recent_items, context.paths_per_user)
        frames[side] = (preferences, paths, preferences_s, time.perf_counter() - started)
    for position, what in enumerate(("relation_preferences", "kg_context")):
        pd.testing.assert_frame_equal(frames["new"][position], frames["old"][position], check_exact=True)
        rows.append((what, len(everyone), frames["old"][position + 2], frames["new"][position + 2]))

    print(f"machine: {machine()}")
    print("| step | users | old per-user loop (s) | vectorised (s) | speedup |")
    print("|---|---|---|---|---|")
    for what, users, old_s, new_s in rows:
        print(f"| {what} | {users:,} | {old_s:.1f} | {new_s:.1f} | {old_s / new_s:.1f}x |")
        key = what.replace("evaluate: ", "evaluate_").replace(" ", "_")
        figures |= {f"{key}_old_s": old_s, f"{key}_new_s": new_s, f"{key}_speedup": old_s / new_s}
    print("identical: metrics within 1e-9, preference and context rows equal")
    return figures


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description="The graph as a recommender (leave-last-out).")
    parser.add_argument("--tune", action="store_true", help="the validation sweep (amazon-beauty)")
    parser.add_argument("--vectorised", action="store_true",
                        help="old per-user loops vs the vectorised evaluation and personalisation (amazon-beauty)")
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
    if args.vectorised:
        figures = vectorised()
        for key, value in figures.items():
            print(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
        print(f"peak_rss_mb: {peak_rss_mb():.0f}")
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
