"""Ranking metrics and the leave-last-out protocol."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from pkg_assets.core.recommend import Histories, Recommender


def leave_last_out(interactions: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """(train rows, test item per user): each user's highest-position item is held out.

    Users with fewer than two interactions have nothing to learn from and are skipped.
    """
    ordered = interactions.sort_values(["user_id", "position"], kind="stable")
    sizes = ordered.groupby("user_id")["product_id"].transform("size")
    ordered = ordered[sizes >= 2]
    is_last = ordered.groupby("user_id").cumcount(ascending=False) == 0
    test = ordered[is_last].set_index("user_id")["product_id"]
    return ordered[~is_last], test


def recall_at_k(ranked: list[str], target: str, k: int) -> float:
    return 1.0 if target in ranked[:k] else 0.0


def ndcg_at_k(ranked: list[str], target: str, k: int) -> float:
    """One relevant item: 1 / log2(rank + 1) if it is in the top k."""
    try:
        rank = ranked[:k].index(target)
    except ValueError:
        return 0.0
    return 1.0 / math.log2(rank + 2)


def evaluate(recommend: Recommender | Callable[[list[str], int], list[str]], histories: dict[str, list[str]],
             test: pd.Series, ks: Iterable[int] = (10, 20),
             on_progress: Callable[[int, int], None] | None = None) -> dict[str, float]:
    """Mean Recall@k and NDCG@k over users with a test item, the user's history excluded from
    the ranking. A `Recommender` ranks a chunk of users at a time, and `on_progress(done, total)`
    is called after each chunk; any other `recommend(history, k)` (k items, best first) is asked
    user by user, `on_progress` every 1,000 users. The caller decides what to say."""
    if not isinstance(recommend, Recommender):
        return _evaluate_one_by_one(recommend, histories, test, ks, on_progress)
    ks = list(ks)
    k_max = max(ks)
    batch = Histories.of(histories, test.index)
    targets = recommend.items.get_indexer(test.to_numpy())
    rank = np.full(len(test), k_max)  # of the target in the user's top k_max; k_max = not in it
    for start, stop, top in recommend.top_k_chunks(batch, k_max):
        found = (top == targets[start:stop, None]) & (targets[start:stop, None] >= 0)
        rank[start:stop] = np.where(found.any(axis=1), found.argmax(axis=1), k_max)
        if on_progress is not None:
            on_progress(stop, len(test))
    users = len(test)
    gain = np.array([1.0 / math.log2(position + 2) for position in range(k_max)] + [0.0])  # as ndcg_at_k computes it
    totals = {}
    for k in ks:
        totals[f"recall@{k}"] = float(np.count_nonzero(rank < k))
        totals[f"ndcg@{k}"] = float(np.where(rank < k, gain[rank], 0.0).sum())
    return {name: (value / users if users else 0.0) for name, value in totals.items()} | {"users": users}


def _evaluate_one_by_one(recommend: Callable[[list[str], int], list[str]], histories: dict[str, list[str]],
                         test: pd.Series, ks: Iterable[int],
                         on_progress: Callable[[int, int], None] | None) -> dict[str, float]:
    ks = list(ks)
    k_max = max(ks)
    totals = {f"{m}@{k}": 0.0 for k in ks for m in ("recall", "ndcg")}
    users = 0
    for user, target in test.items():
        history = histories.get(user, [])
        seen = set(history)  # built once per user, not once per candidate
        ranked = [item for item in recommend(history, k_max + len(history)) if item not in seen][:k_max]
        for k in ks:
            totals[f"recall@{k}"] += recall_at_k(ranked, target, k)
            totals[f"ndcg@{k}"] += ndcg_at_k(ranked, target, k)
        users += 1
        if on_progress is not None and users % 1000 == 0:
            on_progress(users, len(test))
    return {name: (value / users if users else 0.0) for name, value in totals.items()} | {"users": users}
