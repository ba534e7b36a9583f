"""Recommenders of the offline evaluation, on toy data checked by hand."""

import pandas as pd

from pkg_assets.core.metrics import evaluate, leave_last_out, ndcg_at_k
from pkg_assets.core.recommend import cooccurrence_knn_recommender, graph_recommender, popularity_recommender

TRAIN = pd.DataFrame(
    [(u, p, i) for u, items in {"u1": "AB", "u2": "AB", "u3": "AC", "u4": "DE", "u5": "DB"}.items()
     for i, p in enumerate(items)],
    columns=["user_id", "product_id", "position"])


def test_popularity_and_cooccurrence_knn():
    assert popularity_recommender(TRAIN).top_k({"u": []}, 3) == {"u": ["A", "B", "D"]}  # 3, 3 and 2 users; ties by id
    assert popularity_recommender(TRAIN).top_k({"u": ["B"]}, 3) == {"u": ["A", "D", "C"]}  # history excluded
    knn = cooccurrence_knn_recommender(TRAIN)
    # cos(A,B) = 2 / sqrt(3 * 3) > cos(A,C) = 1 / sqrt(3 * 1)? 0.667 > 0.577: B first, then C; padded with popular items.
    assert knn.top_k({"u": ["A"]}, 3) == {"u": ["B", "C", "D"]}
    assert knn.top_k({"u": ["Z"]}, 2) == {"u": ["A", "B"]}  # unknown history: popularity


def test_the_graph_walk_weighs_recency_and_relations():
    edges = pd.DataFrame([("A", "co_purchased", "X", 0.5), ("B", "co_purchased", "Y", 0.5), ("B", "next_item", "Z", 0.3)],
                         columns=["src_id", "relation", "dst_id", "weight"])
    plain = graph_recommender(edges, ["P"], recent=2, decay=0.5)
    assert plain.top_k({"u": ["A", "B"]}, 3) == {"u": ["Y", "Z", "X"]}  # B is the last item: its neighbours first
    boosted = graph_recommender(edges, ["P"], recent=2, decay=0.5, relation_weights={"next_item": 3.0})
    assert boosted.top_k({"u": ["A", "B"]}, 4) == {"u": ["Z", "Y", "X", "P"]}  # 0.9 > 0.5 > 0.25, then popularity
    assert plain.top_k({"u": ["A", "B", "A"]}, 2) == {"u": ["X", "Y"]}  # A is the last item now


def test_leave_last_out_and_metrics():
    train, test = leave_last_out(TRAIN)
    assert test.to_dict() == {"u1": "B", "u2": "B", "u3": "C", "u4": "E", "u5": "B"}
    assert ndcg_at_k(["x", "t"], "t", 10) == 1 / 1.584962500721156
    scores = evaluate(lambda history, k: ["B", "C", "E"], train.groupby("user_id")["product_id"].agg(list).to_dict(),
                      test)
    assert scores["recall@10"] == 1.0 and scores["users"] == 5
