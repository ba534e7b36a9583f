"""Recommenders for offline evaluation: popularity, item co-occurrence kNN, and the graph.

All take a user's history (oldest first) and return k item ids, best first; history items
are excluded by `core.metrics.evaluate`, and every list is padded with popular items so
ranking is over all items.

- popularity: most interacted items in the training data.
- item co-occurrence kNN: cosine between items' user vectors (binary user x item matrix),
  summed over the history — the classic item-based CF baseline.
- graph: the history's neighbours in the product knowledge graph. Each of the last
  `recent` items contributes its outgoing edges' weights, multiplied by `decay ** age`
  (age 0 = the last item) and by the relation's weight in `relation_weights` (e.g.
  next_item counts more from the last item: it is what people do *next*).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable

import numpy as np
import pandas as pd

Recommender = Callable[[list[str], int], list[str]]


def popularity_order(train: pd.DataFrame) -> list[str]:
    """Items by interactions, most first; ties by id, so runs are reproducible."""
    counts = train["product_id"].value_counts()
    return sorted(counts.index.tolist(), key=lambda item: (-counts[item], item))


def _padded(ranked: list[str], popularity: list[str], k: int) -> list[str]:
    if len(ranked) >= k:
        return ranked[:k]
    seen = set(ranked)
    return ranked + [item for item in popularity[: k + len(ranked)] if item not in seen][: k - len(ranked)]


def popularity_recommender(train: pd.DataFrame) -> Recommender:
    popularity = popularity_order(train)
    return lambda history, k: popularity[:k]


def cooccurrence_knn_recommender(train: pd.DataFrame) -> Recommender:
    """Item-based kNN with cosine similarity of the items' user sets."""
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
    popularity = popularity_order(train)
    position = {item: i for i, item in enumerate(items)}
    ids = np.asarray(items)

    def recommend(history: list[str], k: int) -> list[str]:
        rows = [position[item] for item in history if item in position]
        if not rows:
            return popularity[:k]
        scores = np.asarray(similarity[rows].sum(axis=0)).ravel()
        top = np.argpartition(-scores, min(k, len(scores) - 1))[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return _padded([ids[i] for i in top if scores[i] > 0], popularity, k)

    return recommend


def graph_recommender(edges: pd.DataFrame, popularity: list[str], recent: int = 3, decay: float = 0.7,
                      relation_weights: dict[str, float] | None = None) -> Recommender:
    """History -> neighbours in the graph. `edges` has src_id, relation, dst_id, weight."""
    relation_weights = relation_weights or {}
    neighbours: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for src, relation, dst, weight in edges[["src_id", "relation", "dst_id", "weight"]].itertuples(index=False):
        neighbours[src].append((dst, float(weight) * relation_weights.get(relation, 1.0)))

    def recommend(history: list[str], k: int) -> list[str]:
        scores: Counter = Counter()
        for age, item in enumerate(reversed(history[-recent:])):
            factor = decay ** age
            for dst, weight in neighbours.get(item, ()):
                scores[dst] += weight * factor
        return _padded([item for item, _ in scores.most_common(k)], popularity, k)

    return recommend


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
