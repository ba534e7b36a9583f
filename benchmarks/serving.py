"""Serving the amazon-beauty graph: in-process lookups vs DuckDB SQL vs HTTP.

    .venv/bin/python benchmarks/serving.py

Builds the Beauty graph through the Dagster assets (ingest, behavior_edges, pkg_nodes,
pkg_edges, pkg_topk, pkg_snapshot; no LLM on this machine, so the graph is behaviour), then
measures `related(pid, 10)` over the same random products three ways, in one run:
- in-process: ServedGraph (the snapshot loaded into memory once);
- DuckDB SQL on the published snapshot file: the precomputed top-k table (primary-key-like
  lookup) and, for reference, the plain query over pkg_edges;
- HTTP on loopback: `pkg-serve` in a separate process, one keep-alive client.
Then the endpoint as a production service sees traffic: an open-loop load (requests sent on a
fixed schedule, whether or not earlier ones were answered; latency counted from the scheduled
send time, so a stalled server is not hidden) at `--rate` requests/s for `--seconds`, once
steady and once while a new snapshot is published and `POST /reload`ed every 0.3 s; then
rising rates until p99 passes 10 ms, for the highest sustainable rate.
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

from _common import BEAUTY, PROJECT_DIR, fresh_pipeline, machine, materialise_catalog, peak_rss_mb  # noqa: E402
from pkg_assets.resources.warehouse import open_folder_warehouse  # noqa: E402

GRAPH_ASSETS = ["behavior_edges", "pkg_nodes", "pkg_edges", "pkg_topk", "pkg_snapshot"]
OPEN_LOOP_RATE, OPEN_LOOP_SECONDS, RELOAD_EVERY_S = 1000, 10.0, 0.3
P99_TARGET_MS = 10.0
RAMP_RATES = (1000, 1500, 2000, 3000, 4000)


async def open_loop(url: str, pids: list[str], rate: float, seconds: float,
                    snapshots: tuple[Path, Path, Path] | None = None) -> dict:
    """Send GET /related/{pid}?k=10 at `rate` per second for `seconds` on a fixed schedule.
    With `snapshots` (served path, copy A, copy B), publish A and B in turn by rename and POST
    /reload every RELOAD_EVERY_S meanwhile. Latency = answer time - scheduled send time."""
    import asyncio
    import os

    import aiohttp

    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors = reloads = posted = 0
    done = asyncio.Event()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=512)) as session:
        async def one(scheduled: float, pid: str) -> None:
            nonlocal errors
            try:
                async with session.get(f"{url}/related/{pid}", params={"k": "10"}) as response:
                    await response.read()
                    errors += response.status != 200
            except Exception:  # a refused or dropped request counts, never hides
                errors += 1
            latencies.append((loop.time() - scheduled) * 1000)

        async def reload() -> None:
            nonlocal reloads, posted
            posted += 1
            async with session.post(f"{url}/reload") as response:
                body = await response.json()
                reloads += bool(body.get("reloaded"))

        async def republish() -> None:
            # A new snapshot and a POST /reload every RELOAD_EVERY_S, on a fixed cadence: a
            # reload slower than that is still running when the next one is asked for.
            target, first, second = snapshots
            posts, turn = [], 0
            next_at = loop.time() + RELOAD_EVERY_S
            while not done.is_set():
                await asyncio.sleep(max(0.0, next_at - loop.time()))
                next_at += RELOAD_EVERY_S
                temp = target.with_name(f".bench.{turn}.tmp")
                os.link((first, second)[turn % 2], temp)
                os.replace(temp, target)  # published by rename, as pkg_snapshot does
                posts.append(asyncio.create_task(reload()))
                turn += 1
            await asyncio.gather(*posts)

        reloader = asyncio.create_task(republish()) if snapshots else None
        n = int(rate * seconds)
        start = loop.time() + 0.05
        tasks = []
        for i in range(n):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(scheduled, pids[i % len(pids)])))
        await asyncio.gather(*tasks)
        done.set()
        if reloader is not None:
            await reloader
    return {"p50_ms": percentile(latencies, 0.5), "p99_ms": percentile(latencies, 0.99),
            "max_ms": max(latencies), "requests": n, "errors": errors, "reload_posts": posted, "reloads": reloads}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def drive(url: str, ids_file: Path, rate: float, seconds: float,
          snapshots: tuple[Path, Path, Path] | None = None) -> dict:
    """`open_loop` in a fresh process: the load generator must not share a heap (and its
    garbage collector's pauses) or a GIL with this benchmark's pipeline."""
    command = [sys.executable, __file__, "--drive", url, str(ids_file), str(rate), str(seconds),
               *(str(p) for p in snapshots or ())]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds * 20 + 120)
    if result.returncode:
        raise RuntimeError(f"load generator failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def drive_main(argv: list[str]) -> int:
    import asyncio

    url, ids_file, rate, seconds, *snapshots = argv
    pids = json.loads(Path(ids_file).read_text())
    paths = tuple(Path(p) for p in snapshots) or None
    print(json.dumps(asyncio.run(open_loop(url, pids, float(rate), float(seconds), paths))))
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--drive":
        return drive_main(sys.argv[2:])
    if not BEAUTY.exists():
        print(f"skipped: {BEAUTY} is absent")
        return 0
    import duckdb

    from pkg_assets.serving import ServedGraph
    from pkg_assets.resources.warehouse import sql_text

    rng = random.Random(0)
    figures: dict[str, float] = {}
    with fresh_pipeline(PKG_CATALOG_PATH=str(BEAUTY)) as (instance, defs, data):
        timings = materialise_catalog(instance, defs, GRAPH_ASSETS)
        snapshot = data / "snapshot" / "pkg.duckdb"

        # Behaviour mining cost: all users vs half of them.
        with open_folder_warehouse(data) as conn:
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

            # Open loop: steady, then while reloading, then rising rates.
            import os
            import shutil

            url = f"http://127.0.0.1:{port}"
            copies = (snapshot.with_name("bench_a.duckdb"), snapshot.with_name("bench_b.duckdb"))
            os.link(snapshot, copies[0])
            shutil.copy(snapshot, copies[1])
            ids_file = data / "bench_pids.json"
            ids_file.write_text(json.dumps(pids[:20_000]))
            drive(url, ids_file, OPEN_LOOP_RATE, 2.0)  # warm-up
            loaded = drive(url, ids_file, OPEN_LOOP_RATE, OPEN_LOOP_SECONDS)
            reloading = drive(url, ids_file, OPEN_LOOP_RATE, OPEN_LOOP_SECONDS, (snapshot, *copies))
            print(f"open loop {OPEN_LOOP_RATE}/s: steady {loaded}; reloading {reloading}", flush=True)
            ramp = {}
            for rate in RAMP_RATES:
                ramp[rate] = drive(url, ids_file, rate, 5.0)
                print(f"open loop {rate}/s: {ramp[rate]}", flush=True)
                if ramp[rate]["p99_ms"] > P99_TARGET_MS or ramp[rate]["errors"]:
                    break
        finally:
            server.terminate()
            server.wait(timeout=30)

    figures = {
        "inproc_p50_us": percentile(inproc, 0.5), "inproc_p99_us": percentile(inproc, 0.99),
        "duckdb_p50_us": percentile(sql["topk"], 0.5), "duckdb_p99_us": percentile(sql["topk"], 0.99),
        "duckdb_edges_p50_us": percentile(sql["edges"], 0.5), "duckdb_edges_p99_us": percentile(sql["edges"], 0.99),
        "http_p50_ms": percentile(over_http, 0.5), "http_p99_ms": percentile(over_http, 0.99),
    }
    figures["http_p99_ms_loaded"] = loaded["p99_ms"]
    figures["http_p99_ms_reloading"] = reloading["p99_ms"]
    figures["http_reloads_during_load"] = reloading["reloads"]
    figures["http_errors_open_loop"] = loaded["errors"] + reloading["errors"]
    sustained = [rate for rate, result in ramp.items() if result["p99_ms"] <= P99_TARGET_MS and not result["errors"]]
    figures["http_max_sustainable_rps"] = max(sustained, default=0)
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
    print(f"| open loop, {OPEN_LOOP_RATE} requests/s for {OPEN_LOOP_SECONDS:.0f} s | p50 | p99 | max |")
    print("|---|---|---|---|")
    print(f"| steady | {loaded['p50_ms']:.2f} ms | {loaded['p99_ms']:.2f} ms | {loaded['max_ms']:.1f} ms |")
    print(f"| POST /reload every {RELOAD_EVERY_S} s ({reloading['reload_posts']} posts, {reloading['reloads']} new "
          f"graphs loaded back to back) | {reloading['p50_ms']:.2f} ms | "
          f"{reloading['p99_ms']:.2f} ms | {reloading['max_ms']:.1f} ms |")
    for key in ("inproc_p50_us", "inproc_p99_us", "duckdb_p50_us", "duckdb_p99_us", "duckdb_over_inproc",
                "duckdb_over_inproc_p99", "http_p50_ms", "http_p99_ms", "http_p99_ms_loaded", "http_p99_ms_reloading",
                "http_reloads_during_load", "http_errors_open_loop", "http_max_sustainable_rps"):
        print(f"{key}: {figures[key]:.4g}")
    return 0


if __name__ == "__main__":
    from pkg_assets.cli import _exit

    _exit(main())
