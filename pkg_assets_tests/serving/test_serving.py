"""Serving the published demo graph: lookups, explanations, HTTP, reload under load."""

import shutil
import threading
import time
from contextlib import contextmanager

import duckdb
import httpx
import pytest

from starlette.testclient import TestClient

from pkg_assets.serving import MAX_K, GraphService, InvalidQuery, ServedGraph, UnknownProduct
from pkg_assets.serving.http import make_app
from pkg_assets_tests.conftest import free_port


@pytest.fixture()
def snapshot(demo_run, tmp_path):
    """A private copy of the demo snapshot (tests here replace it)."""
    path = tmp_path / "snapshot" / "pkg.duckdb"
    path.parent.mkdir()
    shutil.copy(demo_run.snapshot, path)
    return path


def _topk(path, product_id, relation="*"):
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute("SELECT dst_id, weight FROM pkg_topk WHERE src_id = ? AND relation = ? ORDER BY rank",
                            [product_id, relation]).fetchall()


def test_related_returns_the_published_top_k_lists(snapshot):
    graph = ServedGraph(snapshot)
    with duckdb.connect(str(snapshot), read_only=True) as conn:
        keys = conn.execute("SELECT DISTINCT src_id, relation FROM pkg_topk").fetchall()
    assert len(keys) == graph.n_rows > 100
    for product_id, relation in keys:
        expected = [(dst, pytest.approx(weight, abs=1e-6)) for dst, weight in _topk(snapshot, product_id, relation)]
        assert graph.related(product_id, 100, None if relation == "*" else relation) == expected
    assert graph.related("D0011", 3) == graph.related("D0011", 100)[:3]
    assert graph.related("D0011", 10, "complement")  # carnations have complements
    with pytest.raises(UnknownProduct):
        graph.related("NOPE", 10)


def test_explain_shows_direct_edges_with_evidence_and_shared_concepts(snapshot):
    graph = ServedGraph(snapshot)
    paths = graph.explain("D0011", "D0041")  # carnations and a Mother's Day card
    direct = [p for p in paths if p["path"] == "direct"]
    shared = [p for p in paths if p["path"] == "shared_concept"]
    assert any(p["relation"] == "co_purchased" and p["evidence"][0]["evidence"]["support"] > 0 for p in direct)
    assert any(p["via"] == "concept:occasion:mother-day" for p in shared)
    assert all(p["src_id"] in ("D0011", "D0041") and p["dst_id"] in ("D0011", "D0041") for p in paths)
    complement = graph.explain("D0011", graph.related("D0011", 1, "complement")[0][0])
    llm = next(p for p in complement if p["relation"] == "complement")
    assert "llm_individual" in llm["sources"] and llm["rationale"]
    with pytest.raises(UnknownProduct):
        graph.explain("D0011", "NOPE")


@contextmanager
def serving(service: GraphService):
    """The HTTP endpoint on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(service), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 10
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_http_endpoint(snapshot):
    with serving(GraphService(snapshot)) as url, httpx.Client(base_url=url) as client:
        _check_endpoint(client, snapshot)


def test_the_python_api_refuses_what_http_refuses(snapshot):
    """A bad k or relation is an error in Python as over HTTP, never a silent empty or
    truncated answer (k=-1 used to slice the list from the wrong end)."""
    graph = GraphService(snapshot).graph
    for bad_k in (0, -1, MAX_K + 1, 2.5, True, "10"):
        with pytest.raises(InvalidQuery, match="k must be an integer"):
            graph.related("D0011", bad_k)
    with pytest.raises(InvalidQuery, match="unknown relation"):
        graph.related("D0011", 5, "enemy")
    assert len(graph.related("D0011", MAX_K)) == len(_topk(snapshot, "D0011"))
    assert graph.related("D0011", 5, "*") == graph.related("D0011", 5)
    with TestClient(make_app(GraphService(snapshot))) as client:
        for bad_k in ("0", "-1", str(MAX_K + 1)):
            response = client.get("/related/D0011", params={"k": bad_k})
            assert response.status_code == 400 and "k must be an integer" in response.json()["error"]
        response = client.get("/related/D0011", params={"relation": "<script>"})
        assert response.status_code == 400 and "<script>" not in response.text


def _check_endpoint(client, snapshot):
    body = client.get("/related/D0011", params={"k": 5}).json()
    assert [r["product_id"] for r in body["related"]] == [dst for dst, _ in _topk(snapshot, "D0011")[:5]]
    assert client.get("/related/D0011", params={"relation": "complement"}).json()["relation"] == "complement"
    assert client.get("/related/NOPE").status_code == 404
    assert client.get("/related/D0011", params={"k": "ten"}).status_code == 400
    assert client.get("/related/D0011", params={"relation": "enemy"}).status_code == 400
    assert client.get("/explain/D0011/D0041").json()["paths"]
    assert client.get("/health").json()["edges"] > 0


def test_reload_under_load_drops_no_request_and_never_mixes_graphs(snapshot, tmp_path):
    old = [dst for dst, _ in _topk(snapshot, "D0011")]
    # The next snapshot: D0011 keeps only its top 2 neighbours.
    fresh = tmp_path / "next.duckdb"
    shutil.copy(snapshot, fresh)
    with duckdb.connect(str(fresh)) as conn:
        conn.execute("DELETE FROM pkg_topk WHERE src_id = 'D0011' AND relation = '*' AND rank > 2")
    new = old[:2]

    service = GraphService(snapshot, grace_seconds=0.5)
    seen, errors, stop = [], [], threading.Event()

    def hammer(url):
        with httpx.Client(base_url=url) as client:
            while not stop.is_set():
                try:
                    response = client.get("/related/D0011", params={"k": 50})
                    response.raise_for_status()
                    seen.append([r["product_id"] for r in response.json()["related"]])
                except Exception as exc:  # any dropped or failed request fails the test
                    errors.append(repr(exc))

    with serving(service) as url:
        readers = [threading.Thread(target=hammer, args=(url,)) for _ in range(4)]
        for reader in readers:
            reader.start()
        time.sleep(0.3)
        shutil.move(fresh, snapshot)  # published by rename, as pkg_snapshot does
        with httpx.Client(base_url=url) as client:
            assert client.post("/reload").json()["reloaded"] is True
        time.sleep(0.8)  # past the grace period: the old graph is closed by now
        stop.set()
        for reader in readers:
            reader.join()
    assert not errors
    assert {tuple(s) for s in seen} == {tuple(old), tuple(new)}  # one graph or the other, never a mix
    assert seen[-1] == new and service.reloads == 1


def _with_slashed_product(snapshot):
    """The demo snapshot plus a product whose id holds a slash, linked to D0011."""
    with duckdb.connect(str(snapshot)) as conn:
        conn.execute("INSERT INTO pkg_nodes (node_id, node_type, name, kind, built_at) "
                     "VALUES ('SKU/123', 'product', 'Slashed Card', 'Flowers & Gifts', now())")
        conn.execute("INSERT INTO pkg_topk BY NAME SELECT * REPLACE ('SKU/123' AS src_id) "
                     "FROM pkg_topk WHERE src_id = 'D0011' AND relation = '*'")


def test_ids_with_a_slash_are_reachable_and_unknown_ids_are_never_echoed(snapshot):
    _with_slashed_product(snapshot)
    expected = [dst for dst, _ in _topk(snapshot, "D0011")[:5]]
    with serving(GraphService(snapshot)) as url, httpx.Client(base_url=url) as client:
        for path in ("/related/SKU/123", "/related/SKU%2F123"):
            response = client.get(path, params={"k": 5})
            assert response.status_code == 200, path
            assert [r["product_id"] for r in response.json()["related"]] == expected
        by_query = client.get("/related", params={"product_id": "SKU/123", "k": 5})
        assert by_query.status_code == 200 and by_query.json()["product_id"] == "SKU/123"
        assert client.get("/explain", params={"src": "SKU/123", "dst": "D0011"}).status_code == 200
        for unknown in ("X" * 5000, "<script>alert(1)</script>"):
            response = client.get("/related", params={"product_id": unknown})
            assert response.status_code == 404 and unknown not in response.text and len(response.text) < 100
            response = client.get("/explain", params={"src": "D0011", "dst": unknown})
            assert response.status_code == 404 and unknown not in response.text


def test_reload_needs_the_token_when_one_is_configured_and_loopback_otherwise(snapshot):
    import asyncio

    async def post(app, client_host, headers=None):
        transport = httpx.ASGITransport(app=app, client=(client_host, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://pkg") as client:
            return (await client.post("/reload", headers=headers or {})).status_code

    service = GraphService(snapshot)
    guarded = make_app(service, reload_token="s3cret-token")
    assert asyncio.run(post(guarded, "127.0.0.1")) == 401
    assert asyncio.run(post(guarded, "127.0.0.1", {"Authorization": "Bearer wrong"})) == 401
    assert asyncio.run(post(guarded, "10.1.2.3", {"Authorization": "Bearer s3cret-token"})) == 200
    open_app = make_app(service)
    assert asyncio.run(post(open_app, "10.1.2.3")) == 403  # no token: not from the network
    assert asyncio.run(post(open_app, "127.0.0.1")) == 200


def test_lookups_are_served_while_a_reload_is_loading(snapshot):
    """The reload must not run on the event loop: a lookup sent while a (slow) reload is in
    progress is answered before the reload ends."""
    service = GraphService(snapshot)
    loading, lookup_answered = threading.Event(), threading.Event()
    real_reload = service.reload_if_changed

    def slow_reload():
        loading.set()
        lookup_answered.wait(10)  # a reload on the loop would wait here for a lookup that can't be served
        return real_reload()

    service.reload_if_changed = slow_reload
    outcome = {}
    with serving(service) as url:
        def reload():
            with httpx.Client(base_url=url, timeout=30) as client:
                outcome["reload"] = client.post("/reload").status_code

        reloader = threading.Thread(target=reload)
        reloader.start()
        assert loading.wait(10)
        with httpx.Client(base_url=url, timeout=5) as client:
            outcome["lookup"] = client.get("/related/D0011", params={"k": 3}).status_code
        lookup_answered.set()
        reloader.join(30)
    assert outcome == {"lookup": 200, "reload": 200}


def test_pkg_serve_says_where_it_listens_and_logs_requests_when_asked(snapshot):
    import subprocess
    import sys

    port = free_port()
    command = [sys.executable, "-c", "from pkg_assets.serving.http import main; main()", "--snapshot", str(snapshot),
               "--port", str(port), "--watch-seconds", "0", "--access-log"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(2)]
        assert lines[1].startswith(f"pkg-serve: listening on http://127.0.0.1:{port}"), lines
        deadline = time.time() + 30
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/related/D0011?k=3").status_code == 200
                break
            except httpx.ConnectError:
                assert time.time() < deadline and process.poll() is None
                time.sleep(0.1)
    finally:
        process.terminate()
        stdout, _ = process.communicate(timeout=30)
    assert '"GET /related/D0011?k=3 HTTP/1.1" 200' in stdout  # uvicorn's access log: stdout
