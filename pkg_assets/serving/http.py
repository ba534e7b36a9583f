"""A small HTTP endpoint over the served graph, for services written in other languages.

    pkg-serve --snapshot .pkg_data/snapshot/pkg.duckdb --port 8000

    GET  /related/{product_id}?k=10&relation=complement   top-k related products
    GET  /related?product_id=SKU%2F123&k=10              the same, for any id (query parameter)
    GET  /explain/{src}/{dst}                             edges and evidence connecting two products
    GET  /explain?src=...&dst=...                         the same, for any ids
    GET  /health                                          which snapshot is served
    POST /reload                                          load a newly published snapshot now

Product ids may contain `/` (`SKU/123`): `/related/` takes the rest of the path, and the
query-parameter forms take anything. Unknown ids are never echoed back. The service binds
to loopback by default. `POST /reload` needs `Authorization: Bearer <token>` when a token is
configured (`--reload-token` or PKG_SERVE_RELOAD_TOKEN); without one, only loopback clients
may reload. Loading a snapshot runs in a worker thread, never on the event loop, and the new
graph is swapped in whole. The service also polls the snapshot path (`--watch-seconds`).
"""

from __future__ import annotations

import argparse
import gc
import ipaddress
import json
import logging
import os
import secrets
import sys

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pkg_assets.serving.graph import MAX_K, GraphService, InvalidQuery, UnknownProduct


def _json(payload, status_code: int = 200) -> Response:
    # default=str: timestamps and other non-JSON values in evidence rows
    return Response(json.dumps(payload, default=str), status_code=status_code, media_type="application/json")


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def make_app(service: GraphService, reload_token: str | None = None) -> Starlette:
    async def related(request: Request) -> Response:
        graph = service.graph  # one graph per request, even if a reload happens meanwhile
        product_id = request.path_params.get("product_id") or request.query_params.get("product_id")
        if not product_id:
            return _json({"error": "give a product id: /related/{product_id} or /related?product_id=..."}, 400)
        try:
            k = int(request.query_params.get("k", 10))
        except ValueError:
            return _json({"error": "k must be an integer"}, 400)
        relation = request.query_params.get("relation")
        try:
            found = graph.related(product_id, k, relation or None)
        except InvalidQuery as exc:  # the Python API's own check: one rule for both
            return _json({"error": str(exc).split(";")[0], "relations": graph.relations}, 400)
        except UnknownProduct:
            return _json({"error": "unknown product"}, 404)  # never echo what the client sent
        return _json({"product_id": product_id, "relation": relation or "*", "published_at": str(graph.published_at),
                      "related": [{"product_id": pid, "weight": weight} for pid, weight in found]})

    async def explain(request: Request) -> Response:
        graph = service.graph
        src = request.path_params.get("src") or request.query_params.get("src")
        dst = request.path_params.get("dst") or request.query_params.get("dst")
        if not src or not dst:
            return _json({"error": "give two product ids: /explain?src=...&dst=..."}, 400)
        try:
            paths = await run_in_threadpool(graph.explain, src, dst)  # a DuckDB query: off the loop
        except UnknownProduct as exc:
            return _json({"error": "unknown product", "which": "src" if exc.args[0] == src else "dst"}, 404)
        return _json({"src": src, "dst": dst, "paths": paths})

    async def health(request: Request) -> Response:
        return JSONResponse({**service.graph.info(), "reloads": service.reloads})

    async def reload(request: Request) -> Response:
        if reload_token:
            sent = request.headers.get("authorization", "")
            if not secrets.compare_digest(sent.encode(), f"Bearer {reload_token}".encode()):
                return _json({"error": "reload needs Authorization: Bearer <token>"}, 401)
        elif not _is_loopback(request.client.host if request.client else None):
            return _json({"error": "reload is open to loopback clients only unless a token is configured "
                                   "(--reload-token or PKG_SERVE_RELOAD_TOKEN)"}, 403)
        try:
            # Loading a snapshot takes a while: in a worker thread, so lookups keep being served.
            changed = await run_in_threadpool(service.reload_if_changed)
        except Exception as exc:  # keep serving the old graph
            return _json({"error": f"reload failed, still serving the previous graph: {exc}"}, 500)
        return JSONResponse({"reloaded": changed, **service.graph.info()})

    return Starlette(routes=[
        Route("/related", related),
        Route("/related/{product_id:path}", related),
        Route("/explain", explain),
        Route("/explain/{src:str}/{dst:str}", explain),
        Route("/health", health),
        Route("/reload", reload, methods=["POST"]),
    ])


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="pkg-serve", description="Serve the published product knowledge graph.")
    parser.add_argument("--snapshot", default=None, help="snapshot file (default: PKG_SNAPSHOT or the data dir's)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--watch-seconds", type=float, default=10.0, help="poll for a new snapshot (0: never)")
    parser.add_argument("--reload-token", default=os.environ.get("PKG_SERVE_RELOAD_TOKEN") or None,
                        help="token POST /reload must send as 'Authorization: Bearer <token>' "
                        "(default PKG_SERVE_RELOAD_TOKEN; without one, only loopback clients may reload)")
    parser.add_argument("--access-log", action="store_true", default=os.environ.get("PKG_SERVE_ACCESS_LOG") == "1",
                        help="log every request (client, method, path, status) to stdout (default PKG_SERVE_ACCESS_LOG=1)")
    args = parser.parse_args(argv)
    # The event loop asks for the GIL at every socket operation; while a reload builds the next
    # graph in a worker thread, Python's default 5 ms switch interval would make each request
    # wait that long several times over. 1 ms keeps lookups fast during reloads.
    sys.setswitchinterval(0.001)
    service = GraphService(args.snapshot)
    # Everything imported and loaded so far lives as long as the process: out of the cyclic
    # collector's sight, so a full collection scans only what reloads create (it scanned the
    # whole import heap, ~20 ms, in the middle of serving).
    gc.freeze()
    if args.watch_seconds > 0:
        service.watch(args.watch_seconds)
    print(f"pkg-serve: serving {service.graph.info()}", flush=True)
    print(f"pkg-serve: listening on http://{args.host}:{args.port} (GET /related/<id>, /explain/<src>/<dst>, "
          f"/health; access log {'on' if args.access_log else 'off: --access-log'})", flush=True)
    # Warnings and errors only from uvicorn itself (the lines above say where it listens); the
    # access log, when asked for, at info level on its own logger.
    config = uvicorn.Config(make_app(service, args.reload_token), host=args.host, port=args.port,
                            log_level="warning", access_log=args.access_log)
    if args.access_log:
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    uvicorn.Server(config).run()
