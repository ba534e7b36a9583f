"""The whole pipeline on all of amazon-beauty (six categories), the LLM on the local fake
server: time and peak RSS of every stage, and of the whole run.

    .venv/bin/python benchmarks/full_run.py [--data DIR] [--latency-s 0]

Every asset is materialised as `pkg-demo --catalog ../shared/data/amazon-beauty` would do it
(same jobs, same order, in this process). The fake server runs in a process of its own so
its CPU and memory are not counted here. A sampler thread reads this process's RSS every
0.2 s; each stage's peak is the highest sample while one of its steps ran (steps run one at
a time in process), its time the sum over its partitions. `--data DIR` keeps the warehouse:
run it twice to measure a re-run (answers from the ledger, vectors from their caches).

Skips (exit 0 with a message) when ../shared/data/amazon-beauty is absent.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import BEAUTY, PROJECT_DIR, environment, machine, peak_rss_mb  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class RssSampler:
    """(time, RSS MB) every `every_s`, in a daemon thread."""

    def __init__(self, every_s: float = 0.2):
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every_s,), daemon=True)

    def _run(self, every_s: float) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), rss_mb()))
            self._stop.wait(every_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def peak_between(self, start: float, end: float) -> float:
        inside = [mb for t, mb in self.samples if start <= t <= end]
        return max(inside, default=0.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def step_intervals(instance) -> dict[str, list[tuple[float, float]]]:
    """step key -> [(start, end)] over every run in the instance."""
    from dagster import DagsterEventType

    kinds = {DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE}
    out: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for run in instance.get_runs():
        started: dict[str, float] = {}
        for entry in instance.all_logs(run.run_id, of_type=kinds):
            if entry.dagster_event.event_type == DagsterEventType.STEP_START:
                started[entry.step_key] = entry.timestamp
            elif entry.step_key in started:
                out[entry.step_key].append((started.pop(entry.step_key), entry.timestamp))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="warehouse folder to use and keep (default: a temporary one)")
    parser.add_argument("--latency-s", type=float, default=0.0, help="fake LLM seconds per answer")
    args = parser.parse_args()
    if not (BEAUTY / "products.csv").exists():
        print(f"skipped: {BEAUTY} is absent")
        return 0
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "pkg_assets.fake_llm", "--port", str(port),
                               "--latency-s", str(args.latency_s)], cwd=PROJECT_DIR,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tmp = tempfile.TemporaryDirectory(prefix="pkg_full_")
    data = Path(args.data).resolve() if args.data else Path(tmp.name) / "data"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        with environment(PKG_CATALOG_PATH=str(BEAUTY), PKG_DATA_DIR=str(data), PKG_LLM_MODEL="openai/fake",
                         PKG_LLM_API_BASE=f"http://127.0.0.1:{port}/v1", OPENAI_API_KEY="fake",
                         PKG_CONSOLE_PROGRESS="1"):
            import dagster as dg

            from pkg_assets.cli import run_pipeline
            from pkg_assets.definitions import make_definitions
            from pkg_assets.resources.warehouse import open_warehouse, scalar

            instance = dg.DagsterInstance.ephemeral()
            defs = make_definitions()
            with RssSampler() as sampler:
                run = run_pipeline(instance, defs)
            with open_warehouse() as conn:
                calls = scalar(conn, "SELECT count(*) FROM llm_calls")
                edges = scalar(conn, "SELECT count(*) FROM pkg_edges")
                accepted = scalar(conn, "SELECT count(*) FROM validated_relations")
    finally:
        server.terminate()
        server.wait()
        if not args.data:
            tmp.cleanup()

    print(f"\n== stages (amazon-beauty, {machine()}) ==")
    print(f"{'stage':28} {'runs':>4} {'seconds':>9} {'peak RSS MB':>12}")
    totals = []
    for step, intervals in step_intervals(instance).items():
        seconds = sum(end - start for start, end in intervals)
        peak = max(sampler.peak_between(start, end) for start, end in intervals)
        totals.append((seconds, step, len(intervals), peak))
    for seconds, step, runs, peak in sorted(totals, reverse=True):
        print(f"{step:28} {runs:>4} {seconds:>9.1f} {peak:>12,.0f}")
    print()
    print(f"full_run_wall_s: {run['wall_s']:.1f}")
    print(f"full_run_peak_rss_mb: {peak_rss_mb():.0f}")
    print(f"llm_calls_rows: {calls}")
    print(f"validated_relations: {accepted}")
    print(f"pkg_edges: {edges}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
