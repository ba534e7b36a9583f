"""Serving the amazon-beauty graph: in-process lookups vs DuckDB SQL vs HTTP.

    .venv/bin/python benchmarks/serving.py

Builds the Beauty graph through the Dagster assets (ingest, behavior_edges, pkg_nodes,
pkg_edges, pkg_topk, pkg_snapshot; no LLM on this machine, so the graph is behaviour), then
measures `related(pid, 10)` over the same random products three ways, in one run:
- in-process: ServedGraph (the snapshot loaded into memory once);
- DuckDB SQL on the published snapshot file: the precomputed top-k table (primary-key-like
  lookup) and, for reference, the plain query over pkg_edges;
- HTTP on loopback: `pkg-serve` in a separate process, one keep-alive client.
Also: lookups per second on one core (a tight loop in this single-threaded process), and
how behaviour mining scales (all users vs half of them; same SQL). Ends with key: value lines.
`duckdb_over_inproc` is the ratio of the p50s (`..._p99` of the p99s).
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BEAUTY, PROJECT_DIR, fresh_pipeline, machine, materialise_beauty, peak_rss_mb  # noqa: E402

GRAPH_ASSETS = ["behavior_edges", "pkg_nodes", "pkg_edges", "pkg_topk", "pkg_snapshot"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> int:
    if not BEAUTY.exists():
        print(f"skipped: {BEAUTY} is absent")
        return 0
    import duckdb

    from pkg_assets.serving import ServedGraph
    from pkg_assets.resources.warehouse import sql_text

    rng = random.Random(0)
    figures: dict[str, float] = {}
    with fresh_pipeline(PKG_CATALOG_PATH=str(BEAUTY)) as (instance, defs, data):
        timings = materialise_beauty(instance, defs, GRAPH_ASSETS)
        snapshot = data / "snapshot" / "pkg.duckdb"
        warehouse = data / "warehouse.duckdb"

        # Behaviour mining cost: all users vs half of them.
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            interactions = conn.execute("SELECT user_id, product_id, position FROM interactions").df()
        users = sorted(interactions["user_id"].unique())
        half = set(rng.sample(users, len(users) // 2))
        mining = {}
        for label, frame in (("half", interactions[interactions["user_id"].isin(half)]), ("all", interactions)):
            with duckdb.connect() as conn:
                conn.register("behavior_input", frame)
                started = time.perf_counter()
                edges = conn.execute(f"SELECT count(*) FROM ({sql_text('behavior_edges_build')})",
                                     {"window": 5, "min_support": 2}).fetchall()[0][0]
                mining[label] = (time.perf_counter() - started, len(frame), edges)

        # In-process.
        started = time.perf_counter()
        graph = ServedGraph(snapshot)
        load_s = time.perf_counter() - started
        products = sorted(graph.product_ids)
        pids = [rng.choice(products) for _ in range(200_000)]
        for pid in pids[:10_000]:  # warm-up
            graph.related(pid, 10)
        clock = time.perf_counter_ns
        inproc = []
        for pid in pids:
            started = clock()
            graph.related(pid, 10)
            inproc.append((clock() - started) / 1000)
        started = time.perf_counter()
        for pid in pids:
            graph.related(pid, 10)
        per_second = len(pids) / (time.perf_counter() - started)

        # DuckDB SQL on the snapshot file.
        sample = pids[:5_000]
        with duckdb.connect(str(snapshot), read_only=True) as conn:
            n_edges = conn.execute("SELECT count(*) FROM pkg_edges").fetchall()[0][0]
            n_topk = conn.execute("SELECT count(*) FROM pkg_topk").fetchall()[0][0]
            queries = {
                "topk": "SELECT dst_id, weight FROM pkg_topk WHERE src_id = ? AND relation = '*' ORDER BY rank LIMIT 10",
                "edges": "SELECT dst_id, max(weight) AS w FROM pkg_edges WHERE src_id = ? AND dst_type = 'product' "
                         "GROUP BY dst_id ORDER BY w DESC, dst_id LIMIT 10",
            }
            sql = {}
            for name, query in queries.items():
                for pid in sample[:200]:
                    conn.execute(query, [pid]).fetchall()
                latencies = []
                for pid in sample:
                    started = clock()
                    rows = conn.execute(query, [pid]).fetchall()
                    latencies.append((clock() - started) / 1000)
                    if name == "topk":
                        assert [r[0] for r in rows] == [d for d, _ in graph.related(pid, 10)]
                sql[name] = latencies

        # HTTP on loopback: the server in its own process.
        port = free_port()
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("pkg-serve")), "--snapshot", str(snapshot), "--port", str(port),
             "--watch-seconds", "0"], cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 120
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    if server.poll() is not None or time.time() > deadline:
                        raise RuntimeError(f"pkg-serve did not start: {server.stderr.read().decode()[-2000:]}") from None
                    time.sleep(0.1)
            client = http.client.HTTPConnection("127.0.0.1", port)
            for pid in sample[:500]:
                client.request("GET", f"/related/{pid}?k=10")
                client.getresponse().read()
            over_http = []
            for pid in sample:
                started = clock()
                client.request("GET", f"/related/{pid}?k=10")
                response = client.getresponse()
                body = response.read()
                over_http.append((clock() - started) / 1e6)
                assert response.status == 200, body
            assert [r["product_id"] for r in json.loads(body)["related"]] == [d for d, _ in graph.related(sample[-1], 10)]
            client.close()
        finally:
            server.terminate()
            server.wait(timeout=30)

    figures = {
        "inproc_p50_us": percentile(inproc, 0.5), "inproc_p99_us": percentile(inproc, 0.99),
        "duckdb_p50_us": percentile(sql["topk"], 0.5), "duckdb_p99_us": percentile(sql["topk"], 0.99),
        "duckdb_edges_p50_us": percentile(sql["edges"], 0.5), "duckdb_edges_p99_us": percentile(sql["edges"], 0.99),
        "http_p50_ms": percentile(over_http, 0.5), "http_p99_ms": percentile(over_http, 0.99),
    }
    figures["duckdb_over_inproc"] = figures["duckdb_p50_us"] / figures["inproc_p50_us"]
    figures["duckdb_over_inproc_p99"] = figures["duckdb_p99_us"] / figures["inproc_p99_us"]
    print(f"machine: {machine()}")
    print(f"graph: {n_edges} pkg_edges, {n_topk} pkg_topk rows, {len(products)} products; "
          f"build {sum(v for k, v in timings.items() if k != 'ingest_s'):.1f} s after ingest {timings['ingest_s']:.1f} s")
    print(f"behaviour mining: half the users {mining['half'][1]} interactions -> {mining['half'][0]:.2f} s "
          f"({mining['half'][2]} edges); all {mining['all'][1]} -> {mining['all'][0]:.2f} s ({mining['all'][2]} edges)")
    print("| lookup: related(pid, 10) | p50 | p99 |")
    print("|---|---|---|")
    print(f"| in-process (ServedGraph) | {figures['inproc_p50_us']:.2f} µs | {figures['inproc_p99_us']:.2f} µs |")
    print(f"| DuckDB, pkg_topk on the snapshot | {figures['duckdb_p50_us']:.0f} µs | {figures['duckdb_p99_us']:.0f} µs |")
    print(f"| DuckDB, plain query on pkg_edges | {figures['duckdb_edges_p50_us']:.0f} µs | "
          f"{figures['duckdb_edges_p99_us']:.0f} µs |")
    print(f"| HTTP on loopback (pkg-serve) | {figures['http_p50_ms']:.3f} ms | {figures['http_p99_ms']:.3f} ms |")
    print(f"snapshot_load_s: {load_s:.2f}")
    print(f"lookups_per_s_one_core: {per_second:.0f}")
    print(f"behavior_mining_all_over_half: {mining['all'][0] / mining['half'][0]:.2f}")
    print(f"peak_rss_mb: {peak_rss_mb():.0f}")
    for key in ("inproc_p50_us", "inproc_p99_us", "duckdb_p50_us", "duckdb_p99_us", "duckdb_over_inproc",
                "duckdb_over_inproc_p99", "http_p50_ms", "http_p99_ms"):
        print(f"{key}: {figures[key]:.4g}")
    return 0


if __name__ == "__main__":
    from pkg_assets.cli import _exit

    _exit(main())
