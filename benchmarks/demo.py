"""Materialise the embedded demo end to end in a fresh temporary instance, twice.

    .venv/bin/python benchmarks/demo.py

The second run re-materialises everything with nothing changed: every LLM answer comes
from the ledger. Ends with `key: value` lines.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fresh_pipeline, machine, peak_rss_mb  # noqa: E402


def interpretation_figures() -> dict:
    """interpreted_relations over the whole demo: the share of co-purchased pairs that gained a
    typed relation, relations by kind, calls per 1,000 co-purchased pairs (issue 15)."""
    from pkg_assets.resources.warehouse import open_warehouse

    with open_warehouse() as conn:
        # each unordered pair once (a pair of two categories is a row of both partitions)
        pairs = conn.execute("SELECT count(*) FROM behavior_edges WHERE relation = 'co_purchased' "
                             "AND src_id < dst_id").fetchall()[0][0]
        rows = conn.execute("SELECT DISTINCT a_id, b_id, outcome, relation, call_id FROM interpreted_relations").df()
        accepted = conn.execute("SELECT count(*) FROM validated_relations WHERE list_contains(factors, 'interpreted')"
                                ).fetchall()[0][0]
        rejected = conn.execute("SELECT count(*) FROM rejected_relations WHERE list_contains(factors, 'interpreted')"
                                ).fetchall()[0][0]
    typed = rows[rows["outcome"] == "typed"]
    figures = {"co_purchased_pairs": pairs, "interpreted_pairs_distinct": len(rows),
               "typed_share_of_co_purchased_pairs": round(len(typed) / pairs, 4) if pairs else 0.0,
               "calls_per_1000_co_purchased_pairs": round(1000 * rows["call_id"].notna().sum() / pairs, 1)
               if pairs else 0.0,
               "interpreted_edges_accepted": accepted, "interpreted_edges_rejected": rejected}
    for outcome, count in rows["outcome"].value_counts().items():
        figures[f"outcome_{outcome}"] = int(count)
    for relation, count in typed["relation"].value_counts().items():
        figures[f"relation_{relation}"] = int(count)
    return figures


def main() -> int:
    from pkg_assets.cli import run_pipeline, summarise

    with fresh_pipeline() as (instance, defs, data):
        started = time.perf_counter()
        run_pipeline(instance, defs, log=lambda line: print(line, flush=True))
        first = time.perf_counter() - started
        figures = summarise(data / "snapshot" / "pkg.duckdb")
        interpretation = interpretation_figures()
        ledger_before = figures["llm_calls_ledger"]
        started = time.perf_counter()
        run_pipeline(instance, defs, log=lambda line: None)
        second = time.perf_counter() - started
        after = summarise(data / "snapshot" / "pkg.duckdb")
    print(f"machine: {machine()}")
    print(f"demo_wall_s: {first:.1f}")
    print(f"demo_rerun_wall_s: {second:.1f}")
    print(f"rerun_llm_calls: {after['llm_calls_ledger'] - ledger_before}")
    for key in ("products", "products_rejected", "interactions", "users", "llm_calls_ledger", "relations_proposed",
                "relations_accepted", "relations_rejected", "concepts", "clusters", "behavior_edges",
                "pairs_interpreted", "pairs_typed", "interpreted_edges_published", "pkg_nodes", "pkg_edges"):
        print(f"{key}: {figures[key]}")
    for key, value in interpretation.items():
        print(f"{key}: {value}")
    print(f"peak_rss_mb: {peak_rss_mb():.0f}")
    return 0


if __name__ == "__main__":
    from pkg_assets.cli import _exit

    _exit(main())  # as pkg-demo: skips duckdb's nanobind leak report at interpreter exit
