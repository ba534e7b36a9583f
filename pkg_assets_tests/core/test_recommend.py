"""Recommenders of the offline evaluation, on toy data checked by hand."""

import pandas as pd

from pkg_assets.core.metrics import evaluate, leave_last_out, ndcg_at_k
from pkg_assets.core.recommend import cooccurrence_knn_recommender, graph_recommender, popularity_recommender

TRAIN = pd.DataFrame(
    [(u, p, i) for u, items in {"u1": "AB", "u2": "AB", "u3": "AC", "u4": "DE", "u5": "DB"}.items()
     for i, p in enumerate(items)],
    columns=["user_id", "product_id", "position"])


def test_popularity_and_cooccurrence_knn():
    assert popularity_recommender(TRAIN)([], 3) == ["A", "B", "D"]  # 3, 3 and 2 users; ties by id
    knn = cooccurrence_knn_recommender(TRAIN)
    # cos(A,B) = 2 / sqrt(3 * 3) > cos(A,C) = 1 / sqrt(3 * 1)? 0.667 > 0.577: B first, then C; padded with popular items.
    assert knn(["A"], 3)[:2] == ["B", "C"]
    assert knn(["Z"], 2) == popularity_recommender(TRAIN)([], 2)  # unknown history: popularity


def test_the_graph_walk_weighs_recency_and_relations():
    edges = pd.DataFrame([("A", "co_purchased", "X", 0.5), ("B", "co_purchased", "Y", 0.5), ("B", "next_item", "Z", 0.3)],
                         columns=["src_id", "relation", "dst_id", "weight"])
    plain = graph_recommender(edges, ["P"], recent=2, decay=0.5)
    assert plain(["A", "B"], 3) == ["Y", "Z", "X"]  # B is the last item: its neighbours first
    boosted = graph_recommender(edges, ["P"], recent=2, decay=0.5, relation_weights={"next_item": 3.0})
    assert boosted(["A", "B"], 4) == ["Z", "Y", "X", "P"]  # 0.9 > 0.5 > 0.25, then popularity


def test_leave_last_out_and_metrics():
    train, test = leave_last_out(TRAIN)
    assert test.to_dict() == {"u1": "B", "u2": "B", "u3": "C", "u4": "E", "u5": "B"}
    assert ndcg_at_k(["x", "t"], "t", 10) == 1 / 1.584962500721156
    scores = evaluate(lambda history, k: ["B", "C", "E"], train.groupby("user_id")["product_id"].agg(list).to_dict(),
                      test)
    assert scores["recall@10"] == 1.0 and scores["users"] == 5
