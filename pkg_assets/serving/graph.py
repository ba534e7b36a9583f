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


class UnknownProduct(KeyError):
    """The product is not a node of the served graph."""


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
        columns = self._db.execute(
            "SELECT src_id, relation, dst_id, weight FROM pkg_topk ORDER BY src_id, relation, rank"
        ).fetchnumpy()
        products = self._db.execute("SELECT node_id FROM pkg_nodes WHERE node_type = 'product'").fetchall()
        self.product_ids = frozenset(pid for (pid,) in products)
        src, relation = columns["src_id"].tolist(), columns["relation"].tolist()
        self.neighbour_ids: list[str] = columns["dst_id"].tolist()
        self.weights: list[float] = [round(w, 6) for w in columns["weight"].tolist()]
        self.rows: dict[tuple[str, str], tuple[int, int]] = {}  # (product, relation) -> CSR slice
        start = 0
        for i in range(1, len(src) + 1):
            if i == len(src) or src[i] != src[start] or relation[i] != relation[start]:
                self.rows[(src[start], relation[start])] = (start, i)
                start = i
        self.relations = sorted({r for _, r in self.rows})

    def related(self, product_id: str, k: int = 10, relation: str | None = None) -> list[tuple[str, float]]:
        """Top-k related products as (product_id, weight), best first; any relation by default."""
        row = self.rows.get((product_id, relation or ANY_RELATION))
        if row is None:
            if product_id not in self.product_ids:
                raise UnknownProduct(product_id)
            return []
        start, end = row
        end = min(end, start + k)
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
                "edges": self.n_edges, "topk_rows": len(self.rows), "load_seconds": round(self.load_seconds, 3)}

    def close(self) -> None:
        with self._lock:
            self._db.close()


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
            timer = threading.Timer(self.grace_seconds, old.close)
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
