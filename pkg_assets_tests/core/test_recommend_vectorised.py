"""The vectorised recommenders and `evaluate` give exactly what the per-user implementations
they replaced gave (kept in benchmarks/_reference.py): the same lists, ties in the same order,
the same metrics. On random inputs built to tie a lot, and on amazon-beauty."""

import importlib.util
import math

import numpy as np
import pandas as pd
import pytest

from pkg_assets.core.metrics import evaluate, leave_last_out
from pkg_assets.core.recommend import (
    cooccurrence_knn_recommender,
    graph_recommender,
    popularity_order,
    popularity_recommender,
)
from pkg_assets_tests.conftest import BEAUTY, PROJECT_DIR, requires


def load_reference():
    spec = importlib.util.spec_from_file_location("_reference", PROJECT_DIR / "benchmarks" / "_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


reference = load_reference()


def random_interactions(rng: np.random.Generator, users: int, items: int) -> pd.DataFrame:
    """Short histories over few items, repeats allowed: many equal scores."""
    rows = [(f"u{u}", f"i{rng.integers(items)}", position)
            for u in range(users) for position in range(int(rng.integers(2, 9)))]
    return pd.DataFrame(rows, columns=["user_id", "product_id", "position"])


def random_edges(rng: np.random.Generator, items: int, count: int) -> pd.DataFrame:
    """Weights from a few values (0 among them) and repeated item pairs under several relations,
    in random order: ties everywhere, and sums that are 0."""
    relations = ["co_purchased", "next_item", "complement", "substitute"]
    return pd.DataFrame({
        "src_id": [f"i{i}" for i in rng.integers(items, size=count)],
        "relation": rng.choice(relations, size=count),
        "dst_id": [f"i{i}" for i in rng.integers(items + 3, size=count)],  # some items only the graph knows
        "weight": rng.choice([0.0, 0.25, 0.5, 0.5, 1.0, 0.3], size=count),
    })


def reference_lists(recommend, histories: dict, k: int) -> dict:
    """What the old `evaluate` ranked for each user: k items past the history, history removed."""
    lists = {}
    for user, history in histories.items():
        seen = set(history)
        lists[user] = [item for item in recommend(history, k + len(history)) if item not in seen][:k]
    return lists


def assert_same_metrics(new: dict, old: dict) -> None:
    assert new.keys() == old.keys()
    assert new["users"] == old["users"]
    for metric in old:
        assert math.isclose(new[metric], old[metric], rel_tol=0, abs_tol=1e-9), (metric, new[metric], old[metric])


WALKS = [
    {"recent": 1, "decay": 0.7, "relation_weights": {}},
    {"recent": 3, "decay": 0.7, "relation_weights": {"next_item": 3.0}},
    {"recent": 5, "decay": 0.5, "relation_weights": {"next_item": 3.0, "complement": 5.0, "substitute": 0.0}},
    {"recent": 4, "decay": 1.0, "relation_weights": {"co_purchased": 2.0}},
    {"recent": 2, "decay": 0.0, "relation_weights": {}},  # only the last item counts; the rest reached at 0
]


@pytest.mark.parametrize("seed", range(6))
def test_every_recommender_ranks_as_the_per_user_version_did(seed):
    rng = np.random.default_rng(seed)
    interactions = random_interactions(rng, users=60, items=25)
    train, test = leave_last_out(interactions)
    histories = train.groupby("user_id")["product_id"].agg(list).to_dict()
    histories["stranger"] = ["unknown", "i1", "i1"]  # an item no recommender knows, and a repeat
    test = pd.concat([test, pd.Series({"stranger": "i2", "nobody": "i3"})])  # "nobody" has no history at all
    popularity = popularity_order(train)
    pairs = [(popularity_recommender(train), reference.popularity_recommender(train)),
             (cooccurrence_knn_recommender(train), reference.cooccurrence_knn_recommender(train))]
    edges = random_edges(rng, items=25, count=300)
    pairs += [(graph_recommender(edges, popularity, **walk), reference.graph_recommender(edges, popularity, **walk))
              for walk in WALKS]
    for new, old in pairs:
        for k in (1, 5, 20, 40):  # 40: more than there are items, so lists run short
            assert new.top_k(histories, k) == reference_lists(old, histories, k)
        assert_same_metrics(evaluate(new, histories, test), reference.evaluate(old, histories, test))
        assert_same_metrics(evaluate(new, histories, test, ks=(3,)), reference.evaluate(old, histories, test, ks=(3,)))


def test_ties_keep_the_per_user_order():
    """Graph: equal scores in the order first reached, the last item's edges first, each in
    edge order. kNN: the order argpartition left equal scores in, whatever it is."""
    edges = pd.DataFrame([("A", "co_purchased", "Z", 0.5), ("A", "co_purchased", "Y", 0.5),
                          ("B", "co_purchased", "X", 0.5), ("B", "next_item", "W", 0.25), ("B", "next_item", "W", 0.25),
                          ("A", "next_item", "V", 0.0)],
                         columns=["src_id", "relation", "dst_id", "weight"])
    walk = graph_recommender(edges, ["P", "Q"], recent=2, decay=1.0)
    # Last item B: X then W (0.25 + 0.25); then A: Z, Y; V is reached with 0, before the popular P.
    assert walk.top_k({"u": ["A", "B"]}, 6)["u"] == ["X", "W", "Z", "Y", "V", "P"]
    assert walk.top_k({"u": ["A", "B"]}, 6) == {"u": reference_lists(
        reference.graph_recommender(edges, ["P", "Q"], recent=2, decay=1.0), {"u": ["A", "B"]}, 6)["u"]}

    # Every item bought by exactly one user with A: the kNN scores of A's neighbours all tie.
    train = pd.DataFrame([(f"u{i}", item, position) for i in range(12) for position, item in enumerate(["A", f"n{i}"])],
                         columns=["user_id", "product_id", "position"])
    histories = {"v": ["A"], "w": ["A", "n3"], "x": ["n1", "A", "n1"]}
    for k in (1, 3, 7, 14):
        assert cooccurrence_knn_recommender(train).top_k(histories, k) == reference_lists(
            reference.cooccurrence_knn_recommender(train), histories, k)


def test_progress_is_reported_per_chunk(monkeypatch):
    import pkg_assets.core.recommend as recommend

    monkeypatch.setattr(recommend, "CELLS_PER_CHUNK", 100)  # 4 users a chunk over 25 items
    interactions = random_interactions(np.random.default_rng(7), users=30, items=25)
    train, test = leave_last_out(interactions)
    histories = train.groupby("user_id")["product_id"].agg(list).to_dict()
    said = []
    scores = evaluate(cooccurrence_knn_recommender(train), histories, test,
                      on_progress=lambda done, total: said.append(done))
    assert said[-1] == len(test) and len(said) == math.ceil(len(test) / (100 // len(train["product_id"].unique())))
    assert_same_metrics(scores, reference.evaluate(reference.cooccurrence_knn_recommender(train), histories, test))


def beauty_interactions() -> pd.DataFrame:
    return pd.read_csv(BEAUTY / "interactions.csv")


def beauty_graph(train: pd.DataFrame, window: int = 3) -> pd.DataFrame:
    """co_purchased (both ways, within `window` positions) and next_item edges mined from
    `train` with pandas, weights from supports: a real graph's shape (hubs, many equal weights),
    in shuffled order (edge order decides ties)."""
    ordered = train.sort_values(["user_id", "position"])
    users, items = ordered["user_id"].to_numpy(), ordered["product_id"].to_numpy()
    pairs = pd.concat([pd.DataFrame({"src_id": items[:-gap][users[gap:] == users[:-gap]],
                                     "dst_id": items[gap:][users[gap:] == users[:-gap]], "gap": gap})
                       for gap in range(1, window + 1)])
    pairs = pairs[pairs["src_id"] != pairs["dst_id"]]
    both_ways = pd.concat([pairs, pairs.rename(columns={"src_id": "dst_id", "dst_id": "src_id"})])
    co = both_ways.groupby(["src_id", "dst_id"]).size().rename("support").reset_index()
    co = co.assign(relation="co_purchased", weight=np.minimum(1.0, co["support"] / 4))
    following = pairs[pairs["gap"] == 1].groupby(["src_id", "dst_id"]).size().rename("support").reset_index()
    following = following.assign(relation="next_item",
                                 weight=following["support"] / following.groupby("src_id")["support"].transform("sum"))
    edges = pd.concat([co, following])[["src_id", "relation", "dst_id", "weight"]]
    return edges.sample(frac=1.0, random_state=0).reset_index(drop=True)


@requires(BEAUTY)
def test_amazon_beauty_metrics_and_lists_equal_the_per_user_version():
    train, test = leave_last_out(beauty_interactions())
    histories = train.groupby("user_id")["product_id"].agg(list).to_dict()
    popularity = popularity_order(train)
    edges = beauty_graph(train)
    walk = {"recent": 5, "decay": 0.5, "relation_weights": {"next_item": 3.0}}
    some = test.iloc[::6]  # 3,700 users across the file
    listed = dict(list(histories.items())[:300])
    for new, old in [(popularity_recommender(train), reference.popularity_recommender(train)),
                     (cooccurrence_knn_recommender(train), reference.cooccurrence_knn_recommender(train)),
                     (graph_recommender(edges, popularity, **walk),
                      reference.graph_recommender(edges, popularity, **walk))]:
        assert_same_metrics(evaluate(new, histories, some), reference.evaluate(old, histories, some))
        assert new.top_k(listed, 20) == reference_lists(old, listed, 20)
