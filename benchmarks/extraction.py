"""LLM extraction throughput against the local fake OpenAI-compatible server.

    .venv/bin/python benchmarks/extraction.py                  # 1,000 products x 6 factors
    .venv/bin/python benchmarks/extraction.py --products 200   # quicker

Every call goes through the real path: prompt rendering, litellm's HTTP client, retries,
the `llm_calls` ledger in DuckDB. The server answers after `--latency` seconds (300 ms by
default). Three runs in one process, each on a fresh ledger unless said otherwise:

1. concurrent: `--in-flight` requests at once;
2. the same requests again on the same ledger: answered from it (target: 0 calls);
3. sequential: the same calls one at a time (`--sequential-calls N` times a prefix of N
   calls and scales it to all of them; by default all are run, ~30 minutes at 300 ms).

The concurrent run writes to a warehouse file through `WarehouseResource`, as the assets do:
the ledger writer opens it for each group commit only. Then, side by side on warehouse files,
the cost of one ledger row written the old way (one auto-commit INSERT per answer) and by
the group-committing `LedgerWriter`.

Last, the client's CPU per call: `calls_per_s_per_core` is the calls one core sustains
(calls answered / CPU seconds of the client process; the fake server runs in a process of its
own so its CPU is not counted), for the code before the client work (`--before`, a commit
checked out in a temporary git worktree and run with this venv) and for this checkout, side
by side against the same server: 1,200 calls, 128 in flight, after a warm-up.

Ends with `key: value` lines including `concurrency_speedup`, `rerun_llm_calls`,
`ledger_group_commit_speedup`, `calls_per_s_per_core_before`, `calls_per_s_per_core` and
`client_cpu_speedup`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import SHARED_DATA, machine, peak_rss_mb  # noqa: E402


def load_products(n: int) -> list[dict]:
    from pkg_assets.core import catalog as core_catalog

    beauty = SHARED_DATA / "amazon-beauty"
    if beauty.exists():
        source = core_catalog.resolve_source(beauty)
        products = core_catalog.load_products(source).products
        rows = products.head(n).to_dict("records")
        if len(rows) == n:
            return rows
    return [{"product_id": f"P{i:05d}", "title": f"Synthetic Product {i}", "brand": "Bench",
             "category_path": "Bench > Things", "price": 9.99, "description": "A product."} for i in range(n)]


def ledger_row_costs(rows: int, folder: Path) -> tuple[float, float, int]:
    """(ms per row with one auto-commit INSERT each, ms per row group-committed, commits made)."""
    import time

    import duckdb

    from pkg_assets.resources.llm import LEDGER_COLUMNS, LedgerWriter
    from pkg_assets.resources.warehouse import WarehouseResource, ensure_tables

    def row(i: int) -> dict:
        return {"call_id": f"c{i:06d}", "model": "openai/fake-model", "prompt_name": "factor_complements",
                "prompt_version": "v1", "input_hash": f"h{i}", "partition": "bench", "subject": f"product {i}",
                "request": "x" * 2000, "response": '{"relations": []}' * 20, "raw_response": "y" * 600,
                "status": "ok", "error": None, "prompt_tokens": 500, "completion_tokens": 120, "cost_usd": 0.0,
                "latency_ms": 300.0, "attempts": 1, "created_at": datetime.now(timezone.utc).replace(tzinfo=None)}

    from datetime import datetime, timezone

    one_by_one = folder / "autocommit.duckdb"
    with duckdb.connect(str(one_by_one)) as conn:
        ensure_tables(conn)
        insert = f"INSERT INTO llm_calls ({', '.join(LEDGER_COLUMNS)}) VALUES ({', '.join('?' * len(LEDGER_COLUMNS))})"
        started = time.perf_counter()
        for i in range(rows):
            conn.execute(insert, list(row(i).values()))
        autocommit_ms = (time.perf_counter() - started) * 1000 / rows
    grouped = WarehouseResource.in_folder(folder / "grouped")
    with grouped.connect():
        pass
    started = time.perf_counter()
    writer = LedgerWriter(grouped.connect_briefly)
    for i in range(rows):
        writer.put(row(i))
    writer.close()
    grouped_ms = (time.perf_counter() - started) * 1000 / rows
    return autocommit_ms, grouped_ms, writer.commits


# The last commit before the client work (prompt templates without a stat() per call, no
# price-map lookups per call, litellm's own computed cost reused).
BEFORE_CLIENT_WORK = "f1f28de"


def client_cpu_child(port: int, products: int) -> None:
    """Child: CPU seconds of the client for `products` x 6 factor calls at 128 in flight. Runs
    with whichever pkg_assets is first on PYTHONPATH (this checkout, or the `--before` worktree)."""
    import time

    import pkg_assets  # noqa: F401  (offline defaults)
    from pkg_assets.core.models import FACTORS
    from pkg_assets.defs.extraction.assets import factor_requests
    from pkg_assets.resources.llm import LLMResource
    from pkg_assets.resources.warehouse import WarehouseResource

    requests = factor_requests(load_products(products), list(FACTORS), "bench")

    def warehouse():
        return WarehouseResource.in_folder(tempfile.mkdtemp(prefix="pkg-bench-client-"))

    llm = LLMResource(model="openai/fake-model", api_base=f"http://127.0.0.1:{port}/v1", max_in_flight=128,
                      timeout_s=30, num_retries=2)
    llm.ask(warehouse(), requests[:100])  # warm-up: imports, connections
    target = warehouse()
    with target.connect():
        pass
    cpu, wall = time.process_time(), time.perf_counter()
    _, stats = llm.ask(target, requests)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(json.dumps({"calls": stats.calls_made, "cpu_s": cpu, "wall_s": wall, "failures": stats.failures}))


def client_cpu(before: str | None, products: int, latency: float) -> dict[str, dict]:
    """{variant: child's figures} for this checkout and, when `before` names a commit, for it."""
    import socket
    import subprocess
    import time

    project = Path(__file__).resolve().parent.parent
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "pkg_assets.fake_llm", "--port", str(port),
                               "--latency-s", str(latency)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worktree = Path(tempfile.mkdtemp(prefix="pkg-bench-before-")) / "tree" if before else None
    try:
        time.sleep(3)
        variants = {"after": project}
        if worktree is not None:
            made = subprocess.run(["git", "-C", str(project), "worktree", "add", "--detach", str(worktree), before],
                                  capture_output=True, text=True)
            if made.returncode == 0:
                variants = {"before": worktree, **variants}
            else:
                print(f"client cpu: no worktree of {before} ({made.stderr.strip()[:200]}); measuring this checkout only")
        figures = {}
        for name, root in variants.items():
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(project / "benchmarks")])}
            code = f"import extraction; extraction.client_cpu_child({port}, {products})"
            out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError(f"client cpu ({name}) failed: {out.stderr[-2000:]}")
            figures[name] = json.loads(out.stdout.strip().splitlines()[-1])
            f = figures[name]
            print(f"client cpu ({name}): {f['calls']} calls, {f['cpu_s']:.2f} CPU s in {f['wall_s']:.1f}s wall "
                  f"-> {f['calls'] / f['cpu_s']:.0f} calls/s per core", flush=True)
        return figures
    finally:
        server.terminate()
        if worktree is not None:
            subprocess.run(["git", "-C", str(project), "worktree", "remove", "--force", str(worktree)],
                           capture_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--in-flight", type=int, default=128)
    parser.add_argument("--sequential-calls", type=int, default=0, help="0 = run every call sequentially")
    parser.add_argument("--ledger-rows", type=int, default=2000, help="rows for the ledger write comparison")
    parser.add_argument("--before", default=BEFORE_CLIENT_WORK,
                        help="commit whose client CPU per call is measured beside this checkout's ('' = skip)")
    parser.add_argument("--client-products", type=int, default=200, help="products (x 6 calls) for the client CPU runs")
    args = parser.parse_args(argv)

    import duckdb

    import pkg_assets  # noqa: F401  (offline defaults)
    from pkg_assets.core.models import FACTORS
    from pkg_assets.defs.extraction.assets import factor_requests
    from pkg_assets.resources.llm import LLMResource
    from pkg_assets.resources.warehouse import WarehouseResource, ensure_tables
    from pkg_assets.fake_llm import FakeLLMServer

    products = load_products(args.products)
    requests = factor_requests(products, list(FACTORS), "bench")
    n = len(requests)

    def fresh_ledger():
        conn = duckdb.connect(":memory:")
        ensure_tables(conn)
        return conn

    with FakeLLMServer(latency_s=args.latency) as server:
        def resource(in_flight: int) -> LLMResource:
            return LLMResource(model="openai/fake-model", api_base=server.base_url, max_in_flight=in_flight,
                               timeout_s=30, num_retries=2)

        scratch = Path(tempfile.mkdtemp(prefix="pkg-bench-ledger-"))
        warehouse = WarehouseResource.in_folder(scratch)
        _, concurrent = resource(args.in_flight).ask(warehouse, requests)
        print(f"concurrent: {n} calls in {concurrent.wall_s:.1f}s (server saw up to {server.max_in_flight} at once)",
              flush=True)
        _, rerun = resource(args.in_flight).ask(warehouse, requests)
        print(f"rerun: {rerun.calls_made} calls, {rerun.cache_hits} from the ledger in {rerun.wall_s:.2f}s", flush=True)

        sequential_n = args.sequential_calls or n
        conn = fresh_ledger()
        _, sequential = resource(1).ask(conn, requests[:sequential_n])
        conn.close()
        sequential_wall = sequential.wall_s * n / sequential_n
        note = "measured" if sequential_n == n else f"scaled from {sequential_n} calls"
        print(f"sequential: {sequential_n} calls in {sequential.wall_s:.1f}s ({note})", flush=True)

    autocommit_ms, grouped_ms, commits = ledger_row_costs(args.ledger_rows, scratch)
    print(f"ledger: {args.ledger_rows} rows, {autocommit_ms:.3f} ms/row one by one, {grouped_ms:.3f} ms/row "
          f"in {commits} group commits", flush=True)
    shutil.rmtree(scratch, ignore_errors=True)

    print(f"machine: {machine()}")
    print(f"products: {len(products)}")
    print(f"factors: {len(FACTORS)}")
    print(f"calls: {n}")
    print(f"latency_s: {args.latency}")
    print(f"in_flight: {args.in_flight}")
    print(f"concurrent_wall_s: {concurrent.wall_s:.1f}")
    print(f"concurrent_calls_per_s: {n / concurrent.wall_s:.1f}")
    print(f"concurrent_failures: {concurrent.failures}")
    print(f"sequential_wall_s: {sequential_wall:.1f}")
    print(f"sequential_calls_measured: {sequential_n}")
    print(f"rerun_wall_s: {rerun.wall_s:.2f}")
    print(f"peak_rss_mb: {peak_rss_mb():.0f}")
    print(f"concurrency_speedup: {sequential_wall / concurrent.wall_s:.1f}")
    print(f"rerun_llm_calls: {rerun.calls_made}")
    print(f"ledger_row_ms_autocommit: {autocommit_ms:.3f}")
    print(f"ledger_row_ms_group_commit: {grouped_ms:.3f}")
    print(f"ledger_group_commit_speedup: {autocommit_ms / grouped_ms:.1f}")
    client = client_cpu(args.before or None, args.client_products, args.latency)
    per_core = {name: f["calls"] / f["cpu_s"] for name, f in client.items()}
    if "before" in per_core:
        print(f"calls_per_s_per_core_before: {per_core['before']:.0f}")
    print(f"calls_per_s_per_core: {per_core['after']:.0f}")
    if "before" in per_core:
        print(f"client_cpu_speedup: {per_core['after'] / per_core['before']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
