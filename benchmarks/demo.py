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


def main() -> int:
    from pkg_assets.cli import run_pipeline, summarise

    with fresh_pipeline() as (instance, defs, data):
        started = time.perf_counter()
        run_pipeline(instance, defs, log=lambda line: print(line, flush=True))
        first = time.perf_counter() - started
        figures = summarise(data / "snapshot" / "pkg.duckdb")
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
                "relations_accepted", "relations_rejected", "concepts", "clusters", "behavior_edges", "pkg_nodes",
                "pkg_edges"):
        print(f"{key}: {figures[key]}")
    print(f"peak_rss_mb: {peak_rss_mb():.0f}")
    return 0


if __name__ == "__main__":
    from pkg_assets.cli import _exit

    _exit(main())  # as pkg-demo: skips duckdb's nanobind leak report at interpreter exit
