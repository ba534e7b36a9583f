"""Ranking metrics and the leave-last-out protocol."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import pandas as pd


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


def evaluate(recommend: Callable[[list[str], int], list[str]], histories: dict[str, list[str]],
             test: pd.Series, ks: Iterable[int] = (10, 20),
             on_progress: Callable[[int, int], None] | None = None) -> dict[str, float]:
    """Mean Recall@k and NDCG@k of `recommend(history, k)` over users with a test item.
    `on_progress(done, total)` is called every 1,000 users (the caller decides what to say)."""
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
