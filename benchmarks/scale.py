"""Scale of the non-LLM stages at 100k and 1M products (issue 14), on a synthetic catalog.

    .venv/bin/python benchmarks/scale.py                      # 100k and 1M products
    .venv/bin/python benchmarks/scale.py --sizes 100000       # one size
    .venv/bin/python benchmarks/scale.py --work /tmp/scale --stages personalisation
                                           # keep the files; a later run reuses them

The generator writes, per size N: N products in 500 categories (titles of 6–22 words from a
20,000-word vocabulary, brands, prices, descriptions; a three-level category path whose
second level names the partition) and 20·N interactions from N/4 users (history lengths
geometric; products drawn from a power law, so a few are very popular). Each stage then runs
in its own process on those files, so its peak RSS is its own (`os.wait4`). Ends with
`key: value` lines: `<stage>_<size>_s`, `<stage>_<size>_rss_mb`, and `<stage>_1m_over_100k`
(the time ratio at 10x the data; issue 14's target is at most 12).

Stages: `ingest_products` and `ingest_interactions` (the readers with every decision
counted, `core/catalog.py`); `behaviour_mining` (sql/behavior_edges_build.sql, in DuckDB with
the warehouse's memory limit and spill folder); then, on a warehouse lake holding the
products, the mined behaviour edges and a fixed number of LLM edges (`LLM_EDGES`, as a
category's extraction yields them: their count does not grow with the catalog): `graph_build`
(sql/pkg_nodes_build.sql and sql/pkg_edges_build.sql through `replace_table`), `topk`
(sql/pkg_topk_build.sql) and `snapshot_publish` (the read-only DuckDB file). The warehouse
stages report the time of the stage itself (loading the lake is not counted) and the peak RSS
of their process. `catalog_index` builds the whole catalog's index (usearch HNSW and TF-IDF,
saved to files as the pipeline keeps them per catalog version) from stand-in title vectors
(word-vector sums: MiniLM over 1M titles takes hours here, `benchmarks/embedding.py` measures
it); `resolution` opens that index and resolves a fixed number of mentions (`MENTIONS`);
`gate_behaviour` computes the gate's behaviour evidence for `GATE_PAIRS` pairs against all the
interactions (core/cooccurrence.py); `clustering` clusters the largest category;
`personalisation` computes every user's relation preferences and relation-path context on the
published graph. Not here: `graph_evaluation`, whose protocol ranks every item for every test
user (N/4 users × N items: 100× the work at 10× the data, whatever the code). Last,
`benchmarks/parallel.py` runs 4 demo categories' knowledge runs one
after another and all at once (LLM at 300 ms on the fake server) and its
`parallel_categories_speedup` is printed here too (`--no-parallel` skips it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PROJECT_DIR, machine  # noqa: E402

CATEGORIES = 500
INTERACTIONS_PER_PRODUCT = 20
PRODUCTS_PER_USER = 4
STAGES = ("ingest_products", "ingest_interactions", "behaviour_mining", "catalog_index", "resolution",
          "gate_behaviour", "clustering", "graph_build", "topk", "snapshot_publish", "personalisation")
LLM_EDGES = 50_000  # accepted LLM edges in the graph stages, at every catalog size
TOP_K = 20
MENTIONS = 5_000  # product mentions resolved against the whole catalog, at every size
GATE_PAIRS = 20_000  # (head, tail) pairs the gate asks behaviour about, at every size
DIMENSION = 384  # MiniLM's


def generate(n: int, folder: Path, seed: int = 0) -> None:
    """products.parquet and interactions.parquet for `n` products (deterministic in `seed`)."""
    import duckdb
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    syllables = np.array(["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "bri", "cho", "dra", "fle",
                          "gra", "ple", "sto", "tri", "qua", "mon", "ser"])
    vocabulary = np.array(["".join(rng.choice(syllables, size=rng.integers(2, 4))) for _ in range(20_000)])
    brands = np.array([w.capitalize() for w in vocabulary[:2_000]])
    lengths = rng.integers(6, 23, size=n)
    words = rng.choice(vocabulary, size=int(lengths.sum()))
    cuts = np.cumsum(lengths)[:-1]
    titles = [" ".join(chunk) for chunk in np.split(words, cuts)]
    category = rng.integers(0, CATEGORIES, size=n)
    products = pd.DataFrame({
        "product_id": [f"P{i:07d}" for i in range(n)],
        "title": [f"{b} {t}" for b, t in zip(rng.choice(brands, size=n), titles)],
        "brand": rng.choice(brands, size=n),
        "price": np.round(rng.lognormal(3, 1, size=n), 2),
        "category_path": [f"Store > Category {c:03d} > Leaf {c % 7}" for c in category],
        "description": [t[:120] for t in titles],
    })
    users = max(n // PRODUCTS_PER_USER, 1)
    events = n * INTERACTIONS_PER_PRODUCT
    # power-law popularity: product rank r drawn with weight 1 / (r + 10)
    weights = 1.0 / (np.arange(n) + 10.0)
    chosen = rng.choice(n, size=events, p=weights / weights.sum())
    user = np.sort(rng.integers(0, users, size=events))
    frame = pd.DataFrame({"u": user, "p": chosen})
    frame["position"] = frame.groupby("u").cumcount()
    with duckdb.connect() as conn:
        conn.register("products_df", products)
        conn.execute(f"COPY products_df TO '{folder / 'products.parquet'}' (FORMAT parquet)")
        conn.register("events_df", frame)
        conn.execute(f"COPY (SELECT 'U' || lpad(u::VARCHAR, 7, '0') AS user_id, "
                     f"'P' || lpad(p::VARCHAR, 7, '0') AS product_id, position FROM events_df) "
                     f"TO '{folder / 'interactions.parquet'}' (FORMAT parquet)")


def run_stage(stage: str, folder: Path) -> dict:
    """One stage, in this process; returns what it produced."""
    from pkg_assets.core.catalog import IngestOptions, load_interactions, load_products, resolve_source

    options = IngestOptions(max_categories=10 * CATEGORIES)
    source = resolve_source(folder / "products.parquet", "parquet", folder / "interactions.parquet")
    if stage == "ingest_products":
        read = load_products(source, options)
        return {"products": len(read.products), "rejected": len(read.rejected)}
    if stage == "ingest_interactions":
        import duckdb

        with duckdb.connect() as conn:  # the product ids, as the asset reads them from the warehouse
            known = {p for (p,) in conn.execute(
                f"SELECT product_id FROM read_parquet('{folder / 'products.parquet'}')").fetchall()}
        read = load_interactions(source, known, options)
        return {"interactions": len(read.kept), "rejected": len(read.rejected)}
    if stage == "behaviour_mining":
        import duckdb

        from pkg_assets.defs.behavior.assets import mine_behavior
        from pkg_assets.resources.warehouse import connection_settings

        # The asset's own limits: PKG_DUCKDB_MEMORY_LIMIT (2 GB) and a spill folder.
        with duckdb.connect(config=connection_settings(temp_directory=str(folder / "duckdb_tmp"))) as conn:
            select = mine_behavior(conn, f"SELECT user_id, product_id, position FROM "
                                         f"read_parquet('{folder / 'interactions.parquet'}')", 5, 2)
            conn.execute(f"COPY ({select}) TO '{folder / 'behavior_edges.parquet'}' (FORMAT parquet)",
                         {"window": 5, "min_support": 2})
            return {"edges": conn.execute(f"SELECT count(*) FROM '{folder / 'behavior_edges.parquet'}'").fetchall()[0][0]}
    if stage in ("catalog_index", "resolution"):
        return resolution_stage(stage, folder)
    if stage == "gate_behaviour":
        return gate_behaviour_stage(folder)
    if stage == "clustering":
        return clustering_stage(folder)
    if stage in ("graph_build", "topk", "snapshot_publish"):
        return warehouse_stage(stage, folder)
    if stage == "personalisation":
        return personalisation_stage(folder)
    raise ValueError(f"unknown stage {stage}")


def personalisation_stage(folder: Path) -> dict:
    """`user_preferences` and `user_kg_context` as their assets run them (histories read the
    same way, core/personalization.py), on the published graph's edges."""
    import duckdb

    from pkg_assets.core.personalization import kg_context, relation_preferences

    with duckdb.connect(str(folder / "snapshot" / "pkg.duckdb"), read_only=True) as snapshot:
        edges = snapshot.execute("SELECT src_id, relation, dst_id, dst_type, weight FROM pkg_edges").df()
        names = dict(snapshot.execute("SELECT node_id, name FROM pkg_nodes").fetchall())
    started = time.perf_counter()
    with duckdb.connect() as conn:
        histories = (conn.execute(f"SELECT user_id, product_id, position FROM "
                                  f"read_parquet('{folder / 'interactions.parquet'}') ORDER BY user_id, position")
                     .df().groupby("user_id")["product_id"].agg(list).to_dict())
    relations = sorted(edges["relation"].unique())
    preferences = relation_preferences(histories, edges, relations)
    context = kg_context(histories, preferences, edges, names)
    return {"users": len(histories), "preference_rows": len(preferences), "context_rows": len(context),
            "seconds": time.perf_counter() - started}


def title_vectors(titles: list[str], seed: int = 0):
    """Stand-ins for MiniLM title vectors: each text the normalised sum of random vectors of its
    words, so titles that share words lie close, as with a sentence encoder. (Encoding 1M titles
    with MiniLM takes hours on this CPU; `benchmarks/embedding.py` measures that cost.)"""
    import numpy as np
    import pandas as pd
    from scipy import sparse

    import zlib

    words = pd.Series(titles).str.lower().str.split().explode()
    codes, vocabulary = pd.factorize(words)
    incidence = sparse.csr_matrix((np.ones(len(codes), np.float32), (words.index.to_numpy(), codes)),
                                  shape=(len(titles), len(vocabulary)))
    # A word's vector depends on the word alone, so mentions and titles share them.
    word_vectors = np.stack([np.random.default_rng([seed, zlib.crc32(w.encode())]).normal(size=DIMENSION)
                             for w in vocabulary]).astype(np.float32)
    vectors = np.asarray(incidence @ word_vectors, dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    return vectors


def synthetic_index(folder: Path):
    """The whole catalog's CatalogIndex, its files kept under `folder/catalog_index`."""
    import duckdb

    from pkg_assets.core.resolve import CatalogIndex, category_words

    with duckdb.connect() as conn:
        products = conn.execute(f"SELECT product_id, title, brand, category_path, split_part(category_path, ' > ', 2) "
                                f"AS category FROM read_parquet('{folder / 'products.parquet'}') ORDER BY product_id").df()
    return CatalogIndex(products["product_id"].tolist(), products["title"].tolist(),
                        title_vectors(products["title"].tolist()),
                        [category_words(p) for p in products["category_path"]], products["brand"].tolist(),
                        products["category_path"].tolist(), products["category"].tolist(),
                        index_path=folder / "catalog_index" / "catalog.usearch")


def resolution_stage(stage: str, folder: Path) -> dict:
    """`catalog_index`: build the index of every product (HNSW graph and TF-IDF, saved as
    `load_catalog_index` saves them). `resolution`: open it from those files and resolve
    MENTIONS mentions (3-5 words of a random product's title, said of another product)."""
    import numpy as np

    from pkg_assets.core.resolve import ResolutionConfig, resolve_product_mentions

    if stage == "catalog_index":  # a build, not an opening of the files of an earlier run (--work)
        shutil.rmtree(folder / "catalog_index", ignore_errors=True)
    started = time.perf_counter()
    index = synthetic_index(folder)
    if stage == "catalog_index":
        index.search(index.vectors[:1], 1)
        index.lexical_search(["x"], 1)
        return {"products": len(index), "seconds": time.perf_counter() - started}
    rng = np.random.default_rng(1)
    named = rng.integers(0, len(index), MENTIONS)
    heads = rng.integers(0, len(index), MENTIONS)
    mentions = []
    for position in named:
        words = index.titles[position].split()
        start = rng.integers(0, max(1, len(words) - 3))
        mentions.append(" ".join(words[start:start + rng.integers(3, 6)]))
    vectors = dict(zip(mentions, title_vectors(mentions)))
    links = resolve_product_mentions([(index.product_ids[h], m) for h, m in zip(heads, mentions)], vectors, index,
                                     ResolutionConfig())
    linked = sum(link.decision == "product" for link in links)
    right = sum(link.tail_id == index.product_ids[p] for link, p in zip(links, named))
    return {"mentions": len(links), "linked": linked, "linked_to_the_named_product": right,
            "seconds": time.perf_counter() - started}


def gate_behaviour_stage(folder: Path) -> dict:
    """The gate's behaviour evidence (support, lift, neighbourhood) for GATE_PAIRS pairs, half
    of them products bought together, against all 20·N interactions."""
    import duckdb

    from pkg_assets.resources.warehouse import behaviour_for_pairs, connection_settings

    with duckdb.connect(config=connection_settings(temp_directory=str(folder / "duckdb_tmp"))) as conn:
        conn.execute(f"CREATE VIEW interactions AS SELECT * FROM read_parquet('{folder / 'interactions.parquet'}')")
        pairs = conn.execute(f"""
            (SELECT src_id AS head_id, dst_id AS tail_id FROM read_parquet('{folder / 'behavior_edges.parquet'}')
             USING SAMPLE {GATE_PAIRS // 2} ROWS (reservoir, 3))
            UNION ALL
            (SELECT a.product_id, b.product_id
             FROM (SELECT product_id, row_number() OVER () AS i FROM read_parquet('{folder / 'products.parquet'}')
                   USING SAMPLE {GATE_PAIRS // 2} ROWS (reservoir, 4)) a
             JOIN (SELECT product_id, row_number() OVER () AS i FROM read_parquet('{folder / 'products.parquet'}')
                   USING SAMPLE {GATE_PAIRS // 2} ROWS (reservoir, 5)) b USING (i))""").df()
        started = time.perf_counter()
        evidence = behaviour_for_pairs(conn, pairs)
        return {"pairs": len(evidence), "with_support": int((evidence["support"] > 0).sum()),
                "seconds": time.perf_counter() - started}


def clustering_stage(folder: Path) -> dict:
    """Collective knowledge's clustering of the largest category (N/500 products on average)."""
    import duckdb

    from pkg_assets.core.clustering import CLUSTER_SEED, CLUSTER_TARGET_SIZE, cluster_products

    with duckdb.connect() as conn:
        products = conn.execute(f"""
            WITH p AS (SELECT product_id, title, category_path FROM read_parquet('{folder / 'products.parquet'}'))
            SELECT * FROM p WHERE category_path = (SELECT mode(category_path) FROM p) ORDER BY product_id""").df()
    vectors = title_vectors(products["title"].tolist())
    started = time.perf_counter()
    clusters = cluster_products(products["product_id"].tolist(), vectors, CLUSTER_TARGET_SIZE, CLUSTER_SEED)
    return {"products": len(products), "clusters": len(clusters), "seconds": time.perf_counter() - started}


def seed_warehouse(folder: Path) -> None:
    """The lake the graph stages read: products, behaviour edges, and LLM_EDGES accepted LLM
    edges between random products (made once per size, by the first graph stage)."""
    from pkg_assets.resources.warehouse import open_folder_warehouse

    with open_folder_warehouse(folder / "warehouse") as conn:
        if conn.execute("SELECT count(*) FROM products").fetchall()[0][0]:
            return
        # the partition is the path's second level, as the reader names it
        conn.execute(f"INSERT INTO products BY NAME SELECT product_id, title, brand, price, category_path, "
                     f"split_part(category_path, ' > ', 2) AS category, md5(title) AS content_hash "
                     f"FROM read_parquet('{folder / 'products.parquet'}')")
        conn.execute(f"INSERT INTO behavior_edges BY NAME SELECT * FROM read_parquet('{folder / 'behavior_edges.parquet'}')")
        conn.execute(f"""
            INSERT INTO validated_relations BY NAME
            SELECT split_part(p.category_path, ' > ', 2) AS category, p.product_id AS head_id, 'complement' AS relation, t.title AS tail_mention,
                   'product' AS tail_kind, 'product' AS decision, t.product_id AS tail_id, ['complements'] AS factors,
                   0.8 AS confidence, 'synthetic' AS rationale, ['call'] AS call_ids, 'bench' AS model,
                   'bench@1' AS prompt_version, 0.7 AS gate_score, '' AS reasons
            FROM (SELECT *, row_number() OVER () AS i FROM read_parquet('{folder / 'products.parquet'}')
                  USING SAMPLE {LLM_EDGES} ROWS (reservoir, 1)) p
            JOIN (SELECT *, row_number() OVER () AS i FROM read_parquet('{folder / 'products.parquet'}')
                  USING SAMPLE {LLM_EDGES} ROWS (reservoir, 2)) t USING (i)""")


def warehouse_stage(stage: str, folder: Path) -> dict:
    from pkg_assets.defs.graph.assets import publish_snapshot
    from pkg_assets.resources.warehouse import open_folder_warehouse, replace_table, sql_text

    seed_warehouse(folder)
    with open_folder_warehouse(folder / "warehouse") as conn:
        started = time.perf_counter()
        if stage == "graph_build":
            nodes = replace_table(conn, "pkg_nodes", select_sql=sql_text("pkg_nodes_build"))
            edges = replace_table(conn, "pkg_edges", select_sql=sql_text("pkg_edges_build"))
            result = {"nodes": nodes, "edges": edges}
        elif stage == "topk":
            result = {"topk_rows": replace_table(conn, "pkg_topk", select_sql=sql_text("pkg_topk_build"),
                                                 params={"k": TOP_K})}
        else:
            result = publish_snapshot(conn, folder / "snapshot" / "pkg.duckdb")
        return {**result, "seconds": time.perf_counter() - started}


def measure(stage: str, folder: Path) -> tuple[float, float, dict]:
    """(seconds, peak RSS MB, result) of a stage run in a child process."""
    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, __file__, "--stage", stage, "--dir", str(folder)],
                             stdout=subprocess.PIPE, text=True, cwd=PROJECT_DIR)
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise RuntimeError(f"{stage} failed (status {status})")
    result = json.loads(out.strip().splitlines()[-1])
    # A stage on the warehouse times itself (loading the lake is not the stage).
    return result.pop("seconds", seconds), usage.ru_maxrss / 1024, result


def label(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--no-parallel", action="store_true", help="skip benchmarks/parallel.py")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES),
                        help="run only these (each needs the files of the stages before it)")
    parser.add_argument("--work", type=Path, help="keep each size's files here (default: a temporary folder); "
                        "files already there are reused, so one stage can be run again alone")
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:  # the child process that writes one size's files
        generate(args.generate, args.dir)
        return 0
    if args.stage:  # the child process of one measurement
        print(json.dumps(run_stage(args.stage, args.dir)), flush=True)
        return 0

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="pkg_scale_") as tmp:
        for n in args.sizes:
            folder = (args.work or Path(tmp)) / label(n)
            folder.mkdir(parents=True, exist_ok=True)
            if (folder / "interactions.parquet").exists():
                print(f"reusing the {n:,}-product files in {folder}", flush=True)
            else:
                started = time.perf_counter()
                # In a child: a process's peak RSS counts its parent's at the fork (Linux keeps the
                # high-water mark across exec), so this process stays small while it starts stages.
                subprocess.run([sys.executable, __file__, "--generate", str(n), "--dir", str(folder)], check=True,
                               cwd=PROJECT_DIR)
                print(f"generated {n:,} products, {n * INTERACTIONS_PER_PRODUCT:,} interactions in "
                      f"{time.perf_counter() - started:.1f}s", flush=True)
            for stage in args.stages:
                seconds, rss, result = measure(stage, folder)
                figures[f"{stage}_{label(n)}_s"] = round(seconds, 2)
                figures[f"{stage}_{label(n)}_rss_mb"] = round(rss)
                print(f"  {stage} [{label(n)}]: {seconds:.1f}s, peak {rss:,.0f} MB, {result}", flush=True)
    if not args.no_parallel:
        out = subprocess.run([sys.executable, str(Path(__file__).with_name("parallel.py"))], cwd=PROJECT_DIR,
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"benchmarks/parallel.py failed: {out.stderr[-2000:]}")
        for line in out.stdout.splitlines():
            key, _, value = line.partition(": ")
            if key in ("sequential_s", "parallel_s", "parallel_categories_speedup"):
                figures[f"parallel_{key}" if not key.startswith("parallel") else key] = float(value)
        print(f"  4 categories one after another: {figures['parallel_sequential_s']}s, at once: "
              f"{figures['parallel_s']}s", flush=True)
    print(f"machine: {machine()}")
    for key, value in figures.items():
        print(f"{key}: {value}")
    if {100_000, 1_000_000} <= set(args.sizes):
        for stage in args.stages:
            ratio = figures[f"{stage}_1m_s"] / figures[f"{stage}_100k_s"]
            print(f"{stage}_1m_over_100k: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
