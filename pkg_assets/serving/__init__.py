"""Serving the published graph: in-memory lookups, explanations, an HTTP endpoint, hot reload.

    from pkg_assets.serving import GraphService
    service = GraphService(".pkg_data/snapshot/pkg.duckdb")
    service.graph.related("D0011", 10)            # [(product_id, weight), ...], microseconds
                                                    # (InvalidQuery: k outside 1..MAX_K, unknown relation)
    service.graph.explain("D0011", "D0041")        # the edges and evidence that connect them
    service.reload_if_changed()                     # after a new snapshot is published

`pkg-serve` runs the HTTP endpoint (see pkg_assets/serving/http.py).
"""

from pkg_assets.serving.graph import MAX_K, GraphService, InvalidQuery, ServedGraph, UnknownProduct

__all__ = ["MAX_K", "GraphService", "InvalidQuery", "ServedGraph", "UnknownProduct"]
