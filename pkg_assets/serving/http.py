"""A small HTTP endpoint over the served graph, for services written in other languages.

    pkg-serve --snapshot .pkg_data/snapshot/pkg.duckdb --port 8000

    GET  /related/{product_id}?k=10&relation=complement   top-k related products
    GET  /explain/{src}/{dst}                             edges and evidence connecting two products
    GET  /health                                          which snapshot is served
    POST /reload                                          load a newly published snapshot now

The service also polls the snapshot path (`--watch-seconds`) and swaps in a new graph
without dropping requests (GraphService.reload).
"""

from __future__ import annotations

import argparse
import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pkg_assets.serving.graph import GraphService, UnknownProduct

MAX_K = 200


def _json(payload, status_code: int = 200) -> Response:
    # default=str: timestamps and other non-JSON values in evidence rows
    return Response(json.dumps(payload, default=str), status_code=status_code, media_type="application/json")


def make_app(service: GraphService) -> Starlette:
    async def related(request: Request) -> Response:
        graph = service.graph  # one graph per request, even if a reload happens meanwhile
        product_id = request.path_params["product_id"]
        try:
            k = int(request.query_params.get("k", 10))
        except ValueError:
            return _json({"error": "k must be an integer"}, 400)
        if not 1 <= k <= MAX_K:
            return _json({"error": f"k must be between 1 and {MAX_K}"}, 400)
        relation = request.query_params.get("relation")
        if relation and relation != "*" and relation not in graph.relations:
            return _json({"error": f"unknown relation {relation!r}", "relations": graph.relations}, 400)
        try:
            found = graph.related(product_id, k, relation)
        except UnknownProduct:
            return _json({"error": f"unknown product {product_id!r}"}, 404)
        return _json({"product_id": product_id, "relation": relation or "*", "published_at": str(graph.published_at),
                      "related": [{"product_id": pid, "weight": weight} for pid, weight in found]})

    async def explain(request: Request) -> Response:
        graph = service.graph
        src, dst = request.path_params["src"], request.path_params["dst"]
        try:
            paths = graph.explain(src, dst)
        except UnknownProduct as exc:
            return _json({"error": f"unknown product {exc.args[0]!r}"}, 404)
        return _json({"src": src, "dst": dst, "paths": paths})

    async def health(request: Request) -> Response:
        return JSONResponse({**service.graph.info(), "reloads": service.reloads})

    async def reload(request: Request) -> Response:
        try:
            changed = service.reload_if_changed()
        except Exception as exc:  # keep serving the old graph
            return _json({"error": f"reload failed, still serving the previous graph: {exc}"}, 500)
        return JSONResponse({"reloaded": changed, **service.graph.info()})

    return Starlette(routes=[
        Route("/related/{product_id:str}", related),
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
    args = parser.parse_args(argv)
    service = GraphService(args.snapshot)
    if args.watch_seconds > 0:
        service.watch(args.watch_seconds)
    print(f"pkg-serve: {service.graph.info()}", flush=True)
    uvicorn.run(make_app(service), host=args.host, port=args.port, log_level="warning")
