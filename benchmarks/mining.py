"""Behaviour mining (sql/behavior_edges_build.sql) scales linearly in interactions.

    .venv/bin/python benchmarks/mining.py

One user with 5k, 10k, 20k and 100k events over 2,000 items (the shape that was quadratic:
the pair join hashed on user alone and filtered ranks afterwards), mined with window 5.
Side by side in the same run, the previous join (`QUADRATIC_PAIRS`, kept here only as the
reference) on the sizes it can finish. Then the real amazon-beauty interactions, when present.
Ends with `key: value` lines including `mining_1user_100k_s` and `mining_100k_over_10k`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import BEAUTY, machine, peak_rss_mb  # noqa: E402

WINDOW = 5
ITEMS = 2000
SIZES = (5_000, 10_000, 20_000, 100_000)
REFERENCE_SIZES = (5_000, 10_000)  # the quadratic join takes minutes beyond these

# The pair join before the fix: equality on user only, the rank offset as a join filter.
QUADRATIC_PAIRS = """pairs AS (
    SELECT a.user_id, a.product_id AS src_id, b.product_id AS dst_id, t.k AS gap
    FROM seq a
    CROSS JOIN range(1, $window + 1) t(k)
    JOIN seq b ON b.user_id = a.user_id AND b.rn = a.rn + t.k
    WHERE a.product_id <> b.product_id
),"""


def shipped_sql() -> str:
    from pkg_assets.resources.warehouse import sql_text

    return sql_text("behavior_edges_build")


def reference_sql() -> str:
    sql = shipped_sql()
    start, end = sql.index("ahead AS ("), sql.index("users_of AS (")
    return sql[:start] + QUADRATIC_PAIRS + "\n" + sql[end:]


def mine_seconds(sql: str, frame) -> tuple[float, int]:
    import duckdb

    with duckdb.connect() as conn:
        conn.register("events", frame)
        conn.execute("CREATE TEMP VIEW behavior_input AS SELECT user_id, product_id, position FROM events")
        started = time.perf_counter()
        rows = conn.execute(f"SELECT count(*) FROM ({sql})", {"window": WINDOW, "min_support": 1}).fetchall()[0][0]
        return time.perf_counter() - started, rows


def one_user(n: int):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    return pd.DataFrame({"user_id": "heavy-user", "product_id": [f"p{i}" for i in rng.integers(0, ITEMS, n)],
                         "position": np.arange(n)})


def main() -> int:
    import pkg_assets  # noqa: F401  (offline defaults)

    shipped, reference = shipped_sql(), reference_sql()
    figures: dict[str, float] = {}
    print("| events of one user | mined (s) | previous join (s) | edges |")
    print("|---|---|---|---|")
    for n in SIZES:
        frame = one_user(n)
        seconds, rows = mine_seconds(shipped, frame)
        figures[f"mining_1user_{n // 1000}k_s"] = seconds
        old = ""
        if n in REFERENCE_SIZES:
            old_seconds, _ = mine_seconds(reference, frame)
            figures[f"reference_1user_{n // 1000}k_s"] = old_seconds
            old = f"{old_seconds:.3f}"
        print(f"| {n:,} | {seconds:.3f} | {old or '–'} | {rows:,} |", flush=True)

    interactions = BEAUTY / "interactions.csv"
    if interactions.exists():
        import pandas as pd

        frame = pd.read_csv(interactions, usecols=["user_id", "product_id", "position"])
        seconds, rows = mine_seconds(shipped, frame)
        figures["mining_beauty_s"] = seconds
        print(f"amazon-beauty: {len(frame):,} interactions mined in {seconds:.2f}s ({rows:,} edges)")

    print(f"machine: {machine()}")
    print(f"peak_rss_mb: {peak_rss_mb():.0f}")
    for key, value in figures.items():
        print(f"{key}: {value:.3f}")
    print(f"mining_100k_over_10k: {figures['mining_1user_100k_s'] / figures['mining_1user_10k_s']:.1f}")
    print(f"previous_over_shipped_10k: {figures['reference_1user_10k_s'] / figures['mining_1user_10k_s']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
