"""Category runs in parallel vs one after another, on one machine (issue 14).

    .venv/bin/python benchmarks/parallel.py [--categories 4] [--latency 0.3]

The demo catalog's products, embeddings and interactions are built once; then the
`knowledge_job` of N categories (LLM extraction against the fake OpenAI-compatible server at
`--latency` seconds per call, resolution, the gate, collective knowledge) runs twice from that
same state, each category as its own run in its own process, as Dagster's run launcher starts
runs: one after another, then all at once on the shared warehouse. Ends with `key: value`
lines, `parallel_categories_speedup` among them (the target is at least 1.6 on 2 cores with
300 ms LLM latency).
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

from _common import PROJECT_DIR, QUIET, environment, machine  # noqa: E402


def run_category(category: str) -> None:
    """Child process: the knowledge_job of one category on the instance in DAGSTER_HOME."""
    import dagster as dg

    from pkg_assets.definitions import make_definitions

    started = time.perf_counter()
    result = make_definitions().resolve_job_def("knowledge_job").execute_in_process(
        instance=dg.DagsterInstance.get(), partition_key=category, run_config=QUIET, raise_on_error=False)
    print(json.dumps({"category": category, "success": result.success, "s": time.perf_counter() - started}))
    raise SystemExit(0 if result.success else 1)


def prepare(root: Path, env: dict) -> list[str]:
    """Products, embeddings and interactions of every demo category, in `root`'s warehouse."""
    import dagster as dg

    from pkg_assets.defs.partitions import CATEGORY_PARTITIONS_NAME
    from pkg_assets.definitions import make_definitions

    with environment(**env):
        instance = dg.DagsterInstance.get()
        defs = make_definitions()
        categories = defs.resources["catalog"].categories()
        instance.add_dynamic_partitions(CATEGORY_PARTITIONS_NAME, categories)
        for job, partition in [("observe_catalog_job", None), *(("catalog_job", c) for c in categories),
                               ("interactions_job", None)]:
            result = defs.resolve_job_def(job).execute_in_process(instance=instance, partition_key=partition,
                                                                  run_config=QUIET)
            assert result.success, job
        return categories


def launch(categories: list[str], env: dict, at_once: bool) -> float:
    """Seconds for every category's run, one after another or all at once. Runs at once share
    the cores (PKG_THREADS = cores / runs each) instead of each starting a thread per core."""
    if at_once:
        env = {**env, "PKG_THREADS": str(max(1, (os.cpu_count() or 1) // len(categories)))}
    started = time.perf_counter()
    command = [sys.executable, __file__, "--run-category"]
    if at_once:
        children = [subprocess.Popen([*command, c], env=env, cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True)
                    for c in categories]
    else:
        children = []
        for category in categories:
            child = subprocess.Popen([*command, category], env=env, cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True)
            child.wait()
            children.append(child)
    for child in children:
        out, _ = child.communicate()
        if child.returncode != 0:
            raise RuntimeError(f"a category run failed: {out}")
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--categories", type=int, default=4)
    parser.add_argument("--latency", type=float, default=0.3, help="seconds per LLM call on the fake server")
    parser.add_argument("--run-category", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_category:
        run_category(args.run_category)
        return 0

    import pkg_assets  # noqa: F401  (offline defaults)
    from pkg_assets.fake_llm import FakeLLMServer
    from pkg_assets.resources.warehouse import copy_warehouse

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="pkg_parallel_") as tmp, FakeLLMServer(latency_s=args.latency) as server:
        base = {**os.environ, "PKG_LLM_MODEL": "openai/fake-model", "PKG_LLM_API_BASE": server.base_url,
                "OPENAI_API_KEY": "sk-fake", "PKG_LLM_STEP_RETRIES": "0"}

        def layout(name: str) -> dict:
            home = Path(tmp) / name / "dagster_home"
            home.mkdir(parents=True)
            (home / "dagster.yaml").write_text((PROJECT_DIR / "dagster.yaml").read_text())
            return {**base, "PKG_DATA_DIR": str(Path(tmp) / name / "data"), "DAGSTER_HOME": str(home)}

        started = time.perf_counter()
        first = layout("sequential")
        categories = prepare(Path(tmp) / "sequential", first)[:args.categories]
        second = layout("parallel")
        copy_warehouse(first["PKG_DATA_DIR"], second["PKG_DATA_DIR"])
        prepare_s = time.perf_counter() - started
        print(f"prepared {len(categories)} categories ({', '.join(categories)}) in {prepare_s:.1f}s", flush=True)

        # The parallel copy's instance needs the partitions too (runs are recorded per instance).
        import dagster as dg

        from pkg_assets.defs.partitions import CATEGORY_PARTITIONS_NAME

        dg.DagsterInstance.from_config(second["DAGSTER_HOME"]).add_dynamic_partitions(CATEGORY_PARTITIONS_NAME,
                                                                                     categories)
        calls_before = server.stats["requests"]
        figures["sequential_s"] = round(launch(categories, first, at_once=False), 1)
        sequential_calls = server.stats["requests"] - calls_before
        print(f"one after another: {figures['sequential_s']}s ({sequential_calls} LLM calls)", flush=True)
        calls_before = server.stats["requests"]
        figures["parallel_s"] = round(launch(categories, second, at_once=True), 1)
        parallel_calls = server.stats["requests"] - calls_before
        print(f"all at once: {figures['parallel_s']}s ({parallel_calls} LLM calls)", flush=True)
        assert parallel_calls == sequential_calls, "both orders must ask the same calls"
    figures["categories"] = len(categories)
    figures["llm_latency_s"] = args.latency
    figures["llm_calls_per_order"] = sequential_calls
    figures["parallel_categories_speedup"] = round(figures["sequential_s"] / figures["parallel_s"], 2)
    print(f"machine: {machine()}")
    for key, value in figures.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
