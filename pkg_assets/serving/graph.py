"""The published snapshot loaded into memory once, for microsecond neighbour lookups.

`related()` reads precomputed top-k lists (pkg_topk) laid out as CSR: one row per
(product, relation), `indptr` giving each row's slice of the `neighbour_ids` / `weights`
columns. The columns are Python lists, not numpy arrays, on purpose: a lookup returns
at most a few dozen items, and per-call numpy overhead (scalar indexing, converting
numpy strings and floats back to Python objects) costs more than the whole slice.

`explain()` is not on the hot path: it queries the graph tables copied into an in-memory
DuckDB database (so it keeps working after the snapshot file is replaced), with the
`explain_pair` macro from sql/views.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pkg_assets import settings

ANY_RELATION = "*"
MAX_K = 200  # the largest k a lookup accepts; pkg_topk keeps its own k (20 by default) per row
CHUNK = 16_384  # rows turned into Python objects between two chances for other threads to run


class UnknownProduct(KeyError):
    """The product is not a node of the served graph."""


class InvalidQuery(ValueError):
    """A `k` or relation the graph cannot answer: the Python API raises it, HTTP answers 400."""


@dataclass(frozen=True)
class SnapshotIdentity:
    """Which file was loaded: a new snapshot is a new inode (it is renamed into place)."""

    inode: int
    mtime_ns: int
    size: int

    @classmethod
    def of(cls, path: Path) -> SnapshotIdentity:
        stat = path.stat()
        return cls(stat.st_ino, stat.st_mtime_ns, stat.st_size)


class ServedGraph:
    """One snapshot in memory. Immutable once loaded: safe to share between threads."""

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser().resolve()
        if not self.path.exists():
            raise FileNotFoundError(f"no graph snapshot at {self.path} (materialise pkg_snapshot first)")
        started = time.perf_counter()
        self.identity = SnapshotIdentity.of(self.path)
        # One read-only connection copies everything we serve; the file may be replaced
        # the moment it closes.
        self._db = duckdb.connect(":memory:")
        self._db.execute(f"ATTACH '{_quoted(self.path)}' AS snap (READ_ONLY)")
        try:
            for table in ("pkg_nodes", "pkg_edges", "pkg_topk", "snapshot_info"):
                self._db.execute(f"CREATE TABLE {table} AS SELECT * FROM snap.{table}")
        finally:
            self._db.execute("DETACH snap")
        for view in sorted((settings.sql_dir() / "views").glob("*.sql")):
            self._db.execute(view.read_text())
        self._load_topk()
        info = self._db.execute("SELECT published_at, n_nodes, n_edges FROM snapshot_info").fetchall()
        self.published_at, self.n_nodes, self.n_edges = info[0] if info else (None, 0, 0)
        self.load_seconds = time.perf_counter() - started
        self._lock = threading.Lock()  # DuckDB connections are not for concurrent use

    def _load_topk(self) -> None:
        products = self._db.execute("SELECT node_id FROM pkg_nodes WHERE node_type = 'product'").fetchall()
        self.product_ids = frozenset(pid for (pid,) in products)
        # The CSR columns and the slice of each (product, relation), both computed by DuckDB
        # (which runs without the GIL) and turned into Python objects in chunks, yielding the
        # GIL between them: a reload runs beside a server answering requests.
        self._db.execute("CREATE TEMP TABLE topk_sorted AS SELECT src_id, relation, dst_id, round(weight, 6) AS weight, "
                         "row_number() OVER (ORDER BY src_id, relation, rank) - 1 AS i FROM pkg_topk")
        self.neighbour_ids: list[str] = []
        self.weights: list[float] = []
        for batch in self._db.sql("SELECT dst_id, weight FROM topk_sorted ORDER BY i").to_arrow_reader(CHUNK):
            self.neighbour_ids.extend(batch.column(0).to_pylist())
            self.weights.extend(batch.column(1).to_pylist())
            time.sleep(0)
        # relation -> product -> CSR slice packed in one int (start << 16 | length). Strings and
        # ints only: the index is invisible to Python's cyclic garbage collector. With tuple
        # keys and values, every graph kept ~200k tracked objects, and a full collection over
        # the graphs alive during reloads paused the server for hundreds of milliseconds.
        self.rows: dict[str, dict[str, int]] = {}
        slices = self._db.sql("SELECT relation, src_id, (min(i) << 16) | count(*) FROM topk_sorted GROUP BY ALL")
        for batch in slices.to_arrow_reader(CHUNK):
            for relation, src, packed in zip(*(column.to_pylist() for column in batch.columns)):
                self.rows.setdefault(relation, {})[src] = packed
            time.sleep(0)
        self._db.execute("DROP TABLE topk_sorted")
        self.n_rows = sum(len(products) for products in self.rows.values())
        self.relations = sorted(self.rows)

    def related(self, product_id: str, k: int = 10, relation: str | None = None) -> list[tuple[str, float]]:
        """Top-k related products as (product_id, weight), best first; any relation by default.
        Raises `InvalidQuery` for a `k` outside 1..MAX_K (or not an int) or a relation this
        graph does not have, `UnknownProduct` for a product it does not have."""
        if type(k) is not int or not 1 <= k <= MAX_K:  # type(): True is an int, and not a k
            raise InvalidQuery(f"k must be an integer between 1 and {MAX_K}, not {k!r}")
        by_product = self.rows.get(relation or ANY_RELATION)
        if by_product is None:
            raise InvalidQuery(f"unknown relation; this graph has {self.relations}")  # never echoed: HTTP says it
        packed = by_product.get(product_id)
        if packed is None:
            if product_id not in self.product_ids:
                raise UnknownProduct(product_id)
            return []
        start = packed >> 16
        end = start + min(packed & 0xFFFF, k)
        return list(zip(self.neighbour_ids[start:end], self.weights[start:end]))

    def explain(self, src: str, dst: str) -> list[dict]:
        """The edges and evidence that connect two nodes: direct edges both ways and shared concepts."""
        for node in (src, dst):
            if node not in self.product_ids:
                raise UnknownProduct(node)
        with self._lock:
            cursor = self._db.execute("SELECT * FROM explain_pair(?, ?) ORDER BY weight DESC, path", [src, dst])
            columns = [d[0] for d in cursor.description]
            rows = cursor.fetchall()
        paths = [dict(zip(columns, row)) for row in rows]
        for path in paths:  # evidence is stored as JSON text; hand it out as data
            if isinstance(path.get("evidence"), str):
                path["evidence"] = json.loads(path["evidence"])
        return paths

    def info(self) -> dict:
        return {"snapshot": str(self.path), "published_at": str(self.published_at), "nodes": self.n_nodes,
                "edges": self.n_edges, "topk_rows": self.n_rows, "load_seconds": round(self.load_seconds, 3)}

    def close(self) -> None:
        self.closer()()

    def closer(self):
        """A function that closes this graph's DuckDB database and holds nothing else: a
        reload schedules it after a grace period without keeping the old graph's lookup
        tables alive (requests still using them hold their own reference)."""
        db, lock = self._db, self._lock

        def close() -> None:
            with lock:
                db.close()
        return close


class GraphService:
    """Holds the graph being served and swaps in a new snapshot without dropping requests.

    Readers take `service.graph` once per request; `reload()` builds the new graph fully
    before replacing the reference (one atomic assignment), so a request sees the old
    graph or the new one, never a mix. The old graph is closed after a grace period.
    """

    def __init__(self, path: str | Path | None = None, grace_seconds: float = 5.0):
        self.path = Path(path or settings.snapshot_path()).expanduser().resolve()
        self.grace_seconds = grace_seconds
        self.graph = ServedGraph(self.path)
        self._reload_lock = threading.Lock()
        self.reloads = 0

    def changed(self) -> bool:
        try:
            return SnapshotIdentity.of(self.path) != self.graph.identity
        except FileNotFoundError:
            return False  # keep serving what we have

    def reload(self) -> ServedGraph:
        with self._reload_lock:
            fresh = ServedGraph(self.path)
            old, self.graph = self.graph, fresh
            self.reloads += 1
            timer = threading.Timer(self.grace_seconds, old.closer())
            del old
            timer.daemon = True
            timer.start()
            return fresh

    def reload_if_changed(self) -> bool:
        if not self.changed():
            return False
        self.reload()
        return True

    def watch(self, interval_seconds: float = 10.0) -> threading.Thread:
        """Poll the snapshot path in a daemon thread and reload when a new one is published."""
        def loop():
            while True:
                time.sleep(interval_seconds)
                try:
                    self.reload_if_changed()
                except Exception as exc:  # a bad snapshot must not kill the server: keep the old graph
                    print(f"pkg-serve: reload of {self.path} failed, still serving the previous graph: {exc}",
                          flush=True)

        thread = threading.Thread(target=loop, name="snapshot-watch", daemon=True)
        thread.start()
        return thread


def _quoted(path: Path) -> str:
    return os.fspath(path).replace("'", "''")
