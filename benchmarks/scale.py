"""Scale of the non-LLM stages at 100k and 1M products (issue 14), on a synthetic catalog.

    .venv/bin/python benchmarks/scale.py                      # 100k and 1M products
    .venv/bin/python benchmarks/scale.py --sizes 100000       # one size

The generator writes, per size N: N products in 500 categories (titles of 6–22 words from a
20,000-word vocabulary, brands, prices, descriptions; a three-level category path whose
second level names the partition) and 20·N interactions from N/4 users (history lengths
geometric; products drawn from a power law, so a few are very popular). Each stage then runs
in its own process on those files, so its peak RSS is its own (`os.wait4`). Ends with
`key: value` lines: `<stage>_<size>_s`, `<stage>_<size>_rss_mb`, and `<stage>_1m_over_100k`
(the time ratio at 10x the data; issue 14's target is at most 12).

Stages measured so far: `ingest_products` and `ingest_interactions` (the readers with every
decision counted, `core/catalog.py`), `behaviour_mining` (sql/behavior_edges_build.sql in
DuckDB). Resolution of a fixed number of mentions, graph build, top-k, snapshot publish and
parallel categories are still to come.
"""

from __future__ import annotations

import argparse
import json
import os
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
STAGES = ("ingest_products", "ingest_interactions", "behaviour_mining")


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

        with duckdb.connect() as conn:
            select = mine_behavior(conn, f"SELECT user_id, product_id, position FROM "
                                         f"read_parquet('{folder / 'interactions.parquet'}')", 5, 2)
            conn.execute(f"CREATE TABLE behavior_edges AS {select}", {"window": 5, "min_support": 2})
            return {"edges": conn.execute("SELECT count(*) FROM behavior_edges").fetchone()[0]}
    raise ValueError(f"unknown stage {stage}")


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
    return seconds, usage.ru_maxrss / 1024, json.loads(out.strip().splitlines()[-1])


def label(n: int) -> str:
    return f"{n // 1_000_000}m" if n % 1_000_000 == 0 else f"{n // 1000}k"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:  # the child process of one measurement
        print(json.dumps(run_stage(args.stage, args.dir)), flush=True)
        return 0

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="pkg_scale_") as tmp:
        for n in args.sizes:
            folder = Path(tmp) / label(n)
            folder.mkdir()
            started = time.perf_counter()
            generate(n, folder)
            print(f"generated {n:,} products, {n * INTERACTIONS_PER_PRODUCT:,} interactions in "
                  f"{time.perf_counter() - started:.1f}s", flush=True)
            for stage in STAGES:
                seconds, rss, result = measure(stage, folder)
                figures[f"{stage}_{label(n)}_s"] = round(seconds, 2)
                figures[f"{stage}_{label(n)}_rss_mb"] = round(rss)
                print(f"  {stage} [{label(n)}]: {seconds:.1f}s, peak {rss:,.0f} MB, {result}", flush=True)
    print(f"machine: {machine()}")
    for key, value in figures.items():
        print(f"{key}: {value}")
    if {100_000, 1_000_000} <= set(args.sizes):
        for stage in STAGES:
            ratio = figures[f"{stage}_1m_s"] / figures[f"{stage}_100k_s"]
            print(f"{stage}_1m_over_100k: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
