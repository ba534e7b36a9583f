"""Recommenders for offline evaluation: popularity, item co-occurrence kNN, and the graph.

Each ranks items for many users at once (`Recommender.top_k_codes`, over `Histories`): a
user's list is the recommender's own ranking, then popular items, history excluded, so
ranking is over all items. Scores are sparse-matrix products and array sorts over a chunk of
users at a time, never a Python call per user.

- popularity: most interacted items in the training data.
- item co-occurrence kNN: cosine between items' user vectors (binary user x item matrix),
  summed over the history — the classic item-based CF baseline.
- graph: the history's neighbours in the product knowledge graph. Each of the last
  `recent` items contributes its outgoing edges' weights, multiplied by `decay ** age`
  (age 0 = the last item) and by the relation's weight in `relation_weights` (e.g.
  next_item counts more from the last item: it is what people do *next*).

Ties are broken as the per-user implementation these replace broke them (benchmarks/
_reference.py; the tests compare the two), so published figures do not move: the graph's
equal scores keep the order their items were first reached in, the kNN's equal scores the
order `np.argpartition` leaves them in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
import pandas as pd

# Users x items cells a chunk of users is scored in: at most about 20 bytes a cell over the
# arrays that rank them (the kNN's dense scores, the graph's sparse ones), so under 100 MB.
CELLS_PER_CHUNK = 4_000_000


@dataclass(frozen=True)
class Histories:
    """Users' histories (oldest first) as flat arrays, to score many users at once: user `i`'s
    items are `items[starts[i]:starts[i + 1]]`."""

    users: np.ndarray
    starts: np.ndarray
    items: np.ndarray

    @classmethod
    def of(cls, histories: Mapping[str, Sequence[str]], users: Iterable[str] | None = None) -> Histories:
        """The histories of `users` (default: every user of `histories`, in its order); a user
        `histories` does not know has an empty one."""
        users = list(histories) if users is None else list(users)
        lists = [histories.get(user, ()) for user in users]
        starts = np.zeros(len(users) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, lists), dtype=np.int64, count=len(lists)), out=starts[1:])
        return cls(_object_array(users), starts, _object_array(list(chain.from_iterable(lists))))

    def __len__(self) -> int:
        return len(self.users)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)

    @property
    def rows(self) -> np.ndarray:
        """The user (row) of each history item."""
        return np.repeat(np.arange(len(self)), self.lengths)

    def slice(self, start: int, stop: int) -> Histories:
        starts = self.starts[start:stop + 1]
        return Histories(self.users[start:stop], starts - starts[0], self.items[starts[0]:starts[-1]])

    def last(self, recent: int) -> tuple[np.ndarray, np.ndarray]:
        """(position in `items`, age) of each user's `recent` most recent items, by user, then
        age (0 = the last item): the order the per-user walks visited them in."""
        if recent < 1:
            raise ValueError(f"recent must be at least 1, not {recent}")
        rows = self.rows
        age = self.starts[rows + 1] - 1 - np.arange(len(self.items))
        chosen = np.flatnonzero(age < recent)
        chosen = chosen[np.lexsort((age[chosen], rows[chosen]))]
        return chosen, age[chosen]


def _object_array(values: list) -> np.ndarray:
    array = np.empty(len(values), dtype=object)  # filled, not np.array(): tuple ids stay scalars
    array[:] = values
    return array


def popularity_order(train: pd.DataFrame) -> list[str]:
    """Items by interactions, most first; ties by id, so runs are reproducible."""
    counts = train["product_id"].value_counts()
    return sorted(counts.index.tolist(), key=lambda item: (-counts[item], item))


class Recommender:
    """Ranks every item it knows for many users at once. `items` are those items (an item's
    position in it is its code); `popularity` pads each user's own ranking. This base class
    ranks nothing itself, so its lists are the popular items (`popularity_recommender`)."""

    def __init__(self, items: pd.Index, popularity: Sequence[str]):
        self.items = items
        self.popularity = items.get_indexer(list(popularity))

    @property
    def users_per_chunk(self) -> int:
        """Users `evaluate` ranks in one call, so memory stays bounded."""
        return max(1, CELLS_PER_CHUNK // max(1, len(self.items)))

    def ranked(self, histories: Histories, codes: np.ndarray, seen: np.ndarray,
               k: int) -> tuple[np.ndarray, np.ndarray]:
        """Each user's own ranking before popularity pads it, best first, as (row, item code)
        pairs grouped by row in rank order; history items may be among them. `codes`: the
        history items' codes (-1 for items this recommender does not know); `seen`: the keys
        `row * len(items) + code` of the history items it knows, each once."""
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)

    def top_k_codes(self, histories: Histories, k: int) -> np.ndarray:
        """(users x k) item codes: each user's own ranking, then popular items, history items
        left out; -1 where fewer than k items are left."""
        n, n_items = len(histories), len(self.items)
        codes = self.items.get_indexer(histories.items)
        known = codes >= 0
        seen = np.unique(histories.rows[known] * n_items + codes[known])
        rows, items = self.ranked(histories, codes, seen, k)
        unseen = key_positions(seen, rows * n_items + items) < 0
        rows, items = rows[unseen], items[unseen]
        place = place_in_row(rows, n)  # rank among the user's unseen items
        kept = place < k
        top = np.full((n, k), -1, dtype=np.int64)
        top[rows[kept], place[kept]] = items[kept]
        filled = np.bincount(rows[kept], minlength=n)
        short = np.flatnonzero(filled < k)
        if len(short) == 0 or len(self.popularity) == 0:
            return top
        # Popular items fill the rest; at most (seen + already ranked) of them are left out, so
        # that many more than k candidates always suffice.
        excluded = np.union1d(seen, rows[kept] * n_items + items[kept])
        leave_out = np.bincount(excluded // n_items, minlength=n)[short]
        width = int(min(len(self.popularity), k + leave_out.max()))
        candidates = np.broadcast_to(self.popularity[:width], (len(short), width))
        free = key_positions(excluded, short[:, None] * n_items + candidates) < 0
        slot = filled[short, None] + np.cumsum(free, axis=1) - 1
        fill = free & (slot < k)
        top[np.broadcast_to(short[:, None], fill.shape)[fill], slot[fill]] = candidates[fill]
        return top

    def top_k_chunks(self, histories: Histories, k: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """`top_k_codes` a chunk of `users_per_chunk` users at a time: (start, stop, codes)."""
        for start in range(0, len(histories), self.users_per_chunk):
            stop = min(start + self.users_per_chunk, len(histories))
            yield start, stop, self.top_k_codes(histories.slice(start, stop), k)

    def top_k(self, histories: Mapping[str, Sequence[str]], k: int) -> dict[str, list[str]]:
        """Each user's k recommended items, best first, history excluded."""
        batch = Histories.of(histories)
        ids = np.asarray(self.items, dtype=object)
        return {user: ids[codes[codes >= 0]].tolist() for start, stop, top in self.top_k_chunks(batch, k)
                for user, codes in zip(batch.users[start:stop], top)}


def key_positions(known: np.ndarray | pd.Index, keys: np.ndarray) -> np.ndarray:
    """Where each of `keys` is in `known` (unique integer keys), -1 where absent: a hash lookup,
    several times faster than np.isin or np.searchsorted on millions of keys. Pass an Index to
    look up in the same keys again: it keeps its hash table."""
    return pd.Index(known).get_indexer(keys.ravel()).reshape(keys.shape)


def place_in_row(rows: np.ndarray, n: int) -> np.ndarray:
    """Each entry's position among the entries of its row; `rows` sorted, rows 0..n-1."""
    counts = np.bincount(rows, minlength=n)
    return np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)


def popularity_recommender(train: pd.DataFrame) -> Recommender:
    popularity = popularity_order(train)
    return Recommender(pd.Index(popularity), popularity)


class CooccurrenceKnn(Recommender):
    """Item-based kNN with cosine similarity of the items' user sets (`cooccurrence_knn_recommender`)."""

    def __init__(self, train: pd.DataFrame):
        from scipy import sparse
        from sklearn.preprocessing import normalize

        pairs = train[["user_id", "product_id"]].drop_duplicates()
        items = pd.Index(sorted(pairs["product_id"].unique()))
        users = pd.Index(sorted(pairs["user_id"].unique()))
        matrix = sparse.csr_matrix((np.ones(len(pairs), dtype=np.float32),
                                    (items.get_indexer(pairs["product_id"]), users.get_indexer(pairs["user_id"]))),
                                   shape=(len(items), len(users)))
        unit = normalize(matrix)
        similarity = (unit @ unit.T).tocsr()
        similarity.setdiag(0)
        similarity.eliminate_zeros()
        super().__init__(items, popularity_order(train))
        self.similarity = similarity

    def ranked(self, histories: Histories, codes: np.ndarray, seen: np.ndarray,
               k: int) -> tuple[np.ndarray, np.ndarray]:
        """Items by summed similarity to the history, positive scores only. The per-user version
        took the top k + len(history) with np.argpartition and sorted them stably, so which of
        several equal scores made the cut, and their order, is argpartition's: it is called the
        same way here, on the same float32 rows, one call per distinct history length."""
        from scipy import sparse

        n, n_items = len(histories), len(self.items)
        if n == 0 or n_items == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        known = codes >= 0
        # One entry per history item, duplicates and history order kept: the product then adds
        # the similarity rows in the order the per-user sum did, so the float32 scores are equal.
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(histories.rows[known], minlength=n), out=indptr[1:])
        history = sparse.csr_matrix((np.ones(int(known.sum()), dtype=np.float32), codes[known], indptr),
                                    shape=(n, n_items))
        negated = (history @ self.similarity).toarray()
        np.negative(negated, out=negated)  # argpartition and argsort were given -scores
        wanted = k + histories.lengths
        rows, items = [], []
        for size in np.unique(wanted):
            group = np.flatnonzero(wanted == size)
            group_scores = negated[group]
            part = np.argpartition(group_scores, min(size, n_items - 1), axis=1)[:, :size]
            values = np.take_along_axis(group_scores, part, axis=1)
            order = np.argsort(values, axis=1, kind="stable")
            best, values = np.take_along_axis(part, order, axis=1), np.take_along_axis(values, order, axis=1)
            positive = values < 0
            rows.append(np.broadcast_to(group[:, None], positive.shape)[positive])
            items.append(best[positive])
        rows, items = np.concatenate(rows), np.concatenate(items)
        by_row = np.argsort(rows, kind="stable")
        return rows[by_row], items[by_row]


def cooccurrence_knn_recommender(train: pd.DataFrame) -> Recommender:
    return CooccurrenceKnn(train)


@dataclass(frozen=True)
class OutEdges:
    """A graph's edges grouped by source node, each node's edges in the order of the edge frame
    (the order the per-user walks followed them in, which decides float sums and ties), or by
    a key first (`of(within=...)`), then in that order."""

    starts: np.ndarray  # node code -> where its edges start in `rows`
    rows: np.ndarray    # frame rows of the edges, by source node

    @classmethod
    def of(cls, sources: np.ndarray, n_nodes: int, within: np.ndarray | None = None) -> OutEdges:
        """`sources`: the source node code of each edge frame row; `within`: a key ordering each
        node's edges before the frame order."""
        starts = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(sources, minlength=n_nodes), out=starts[1:])
        rows = np.argsort(sources, kind="stable") if within is None else np.lexsort((within, sources))
        return cls(starts, rows)

    def degree(self, nodes: np.ndarray) -> np.ndarray:
        """Out-edges of each of `nodes`; code -1 (a node the graph does not know) has none."""
        return np.where(nodes >= 0, self.starts[nodes + 1] - self.starts[nodes], 0)

    def follow(self, nodes: np.ndarray, counts: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(index into `nodes`, edge frame row) of every out-edge of each of `nodes` in turn, or
        of its first `counts` edges."""
        degree = self.degree(nodes) if counts is None else counts
        # The i-th edge of node j is rows[starts[j] + i - (edges of the nodes before j)].
        offset = np.repeat(self.starts[nodes] - np.cumsum(degree) + degree, degree)
        return np.repeat(np.arange(len(nodes)), degree), self.rows[offset + np.arange(len(offset))]


class GraphWalk(Recommender):
    """History -> neighbours in the graph (`graph_recommender`)."""

    def __init__(self, edges: pd.DataFrame, popularity: list[str], recent: int, decay: float,
                 relation_weights: dict[str, float]):
        from scipy import sparse

        items = pd.Index(pd.unique(pd.concat([pd.Series(popularity, dtype=object), edges["src_id"].astype(object),
                                              edges["dst_id"].astype(object)], ignore_index=True)))
        super().__init__(items, popularity)
        n_items = len(items)
        self.recent = recent
        self.factors = np.array([float(decay ** age) for age in range(recent)])
        out = OutEdges.of(items.get_indexer(edges["src_id"]), n_items)
        relation_weight = edges["relation"].map(pd.Series(relation_weights, dtype=np.float64)).fillna(1.0).to_numpy()
        weight = (edges["weight"].to_numpy(dtype=np.float64) * relation_weight)[out.rows]
        dst = items.get_indexer(edges["dst_id"])[out.rows]
        # item x item, one entry per edge (several edges between two items stay several) in
        # frame order: a walk matrix times it adds the edges in the order the per-user walk
        # did, so the float sums are equal. `reaches` counts edges, to tell the items reached
        # with a zero sum from the items not reached.
        self.weights = sparse.csr_matrix((weight, dst, out.starts), shape=(n_items, n_items))
        self.reaches = sparse.csr_matrix((np.ones(len(dst)), dst, out.starts), shape=(n_items, n_items))
        # Where each item pair's first edge sits in its source's list, for ties: the per-user
        # walk reached items in (age, edge position) order.
        source = np.repeat(np.arange(n_items), np.diff(out.starts))
        pair_keys, first = np.unique(source * n_items + dst, return_index=True)
        self.pairs = pd.Index(pair_keys)  # its hash table is built once, at the first lookup
        self.pair_position = first - out.starts[source[first]]
        self.age_stride = int(np.diff(out.starts).max(initial=0)) + 1  # more than any edge position

    def ranked(self, histories: Histories, codes: np.ndarray, seen: np.ndarray,
               k: int) -> tuple[np.ndarray, np.ndarray]:
        """Reached unseen items by score, ties in the order they were first reached, cut where
        no item past the user's k-th best can matter."""
        from scipy import sparse

        n, n_items = len(histories), len(self.items)
        empty = np.empty(0, dtype=np.int64)
        if n == 0 or n_items == 0:
            return empty, empty
        anchors, age = histories.last(self.recent)
        known = codes[anchors] >= 0
        anchors, age = anchors[known], age[known]
        rows, anchor = histories.rows[anchors], codes[anchors]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        sums = sparse.csr_matrix((self.factors[age], anchor, indptr), shape=(n, n_items)) @ self.weights
        # Every reached item, those whose sum is 0 too.
        reached = sparse.csr_matrix((np.ones(len(anchor)), anchor, indptr), shape=(n, n_items)) @ self.reaches
        rows = np.repeat(np.arange(n), np.diff(reached.indptr))
        keys = rows * n_items + reached.indices
        scores = np.zeros(len(keys))  # a sum of 0 has no entry in `sums`
        scores[key_positions(keys, np.repeat(np.arange(n), np.diff(sums.indptr)) * n_items + sums.indices)] = sums.data
        unseen = key_positions(seen, keys) < 0
        rows, items, scores = rows[unseen], reached.indices[unseen], scores[unseen]
        # The k-th best unseen score per user, from the users' scores side by side in a
        # (users x most reached) block: items at or above it are candidates, ties included.
        place = place_in_row(rows, n)
        block = np.full((n, max(k, int(place.max(initial=0)) + 1)), -np.inf)
        block[rows, place] = scores
        block.sort(axis=1)
        candidate = scores >= block[rows, block.shape[1] - k]
        rows, items, scores = rows[candidate], items[candidate], scores[candidate]
        anchor_at = np.full((n, self.recent), -1, dtype=np.int64)
        anchor_at[histories.rows[anchors], age] = anchor
        first = self._first_reached(anchor_at[rows], items)
        order = np.lexsort((first, -scores, rows))
        return rows[order], items[order]

    def _first_reached(self, anchors: np.ndarray, items: np.ndarray) -> np.ndarray:
        """When the walk first reached each of `items` from its user's `anchors` (one column
        per age): age-major, then the position of the edge in the anchor's list."""
        first = np.full(len(items), np.iinfo(np.int64).max)
        for age in range(anchors.shape[1]):
            keys = anchors[:, age] * len(self.items) + items
            at = self.pairs.get_indexer(keys)  # -1 also where there is no anchor (keys < 0)
            when = age * self.age_stride + self.pair_position[at]
            first = np.where((at >= 0) & (when < first), when, first)
        return first


def graph_recommender(edges: pd.DataFrame, popularity: list[str], recent: int = 3, decay: float = 0.7,
                      relation_weights: dict[str, float] | None = None) -> Recommender:
    """History -> neighbours in the graph. `edges` has src_id, relation, dst_id, weight."""
    return GraphWalk(edges, popularity, recent, decay, relation_weights or {})


KNOWLEDGE_RELATIONS = ("complement", "substitute", "accessory", "consumable")


def from_behaviour(edges: pd.DataFrame) -> pd.Series:
    """Boolean mask of the edges behaviour contributed to (`sources` lists "behavior").
    Typed bool even when empty: an empty object-typed mask would be read as column labels."""
    return edges["sources"].map(lambda sources: "behavior" in list(sources)).astype(bool)


def with_reverse(edges: pd.DataFrame, relations=KNOWLEDGE_RELATIONS) -> pd.DataFrame:
    """`edges` plus the reverse of every edge of `relations`: "X substitutes Y" is knowledge
    about Y too, and a user of the tail is as well served by the head (the LLM was asked about
    each product in turn, so many true pairs were proposed one way only)."""
    chosen = edges[edges["relation"].isin(relations)]
    reverse = chosen.rename(columns={"src_id": "dst_id", "dst_id": "src_id"})
    return pd.concat([edges, reverse[edges.columns]], ignore_index=True)
