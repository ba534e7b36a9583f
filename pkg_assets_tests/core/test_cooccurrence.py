"""The sparse behavioural evidence (core/cooccurrence.py) against its definition in SQL.

`REFERENCE_SQL` is the query the gate used before the sparse matrices (it peaked at 21 GB in
one amazon-beauty category): the definitions of support, lift, neighbourhood and head users
written as joins. The sparse path must give the same numbers."""

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from pkg_assets.resources.warehouse import behaviour_for_pairs

BEAUTY = Path(__file__).resolve().parents[3] / "shared" / "data" / "amazon-beauty"

REFERENCE_SQL = """
WITH users_of AS (SELECT product_id, count(DISTINCT user_id) AS n FROM interactions GROUP BY product_id),
total AS (SELECT greatest(count(DISTINCT user_id), 1) AS n FROM interactions),
both_users AS (
    SELECT p.head_id, p.tail_id, count(DISTINCT a.user_id) AS support
    FROM gate_pairs p
    JOIN interactions a ON a.product_id = p.head_id
    JOIN interactions b ON b.user_id = a.user_id AND b.product_id = p.tail_id
    GROUP BY p.head_id, p.tail_id),
gate_items AS (SELECT head_id AS product_id FROM gate_pairs UNION SELECT tail_id FROM gate_pairs),
item_users AS (SELECT DISTINCT i.product_id, i.user_id FROM interactions i SEMI JOIN gate_items g USING (product_id)),
cooccurrence AS (
    SELECT iu.product_id, o.product_id AS other_id, count(DISTINCT o.user_id)::DOUBLE AS n
    FROM item_users iu JOIN interactions o ON o.user_id = iu.user_id AND o.product_id <> iu.product_id
    GROUP BY iu.product_id, o.product_id),
norms AS (SELECT product_id, sqrt(sum(n * n)) AS norm FROM cooccurrence GROUP BY product_id),
neighbourhood AS (
    SELECT p.head_id, p.tail_id, sum(h.n * t.n) AS dot
    FROM gate_pairs p
    JOIN cooccurrence h ON h.product_id = p.head_id
    JOIN cooccurrence t ON t.product_id = p.tail_id AND t.other_id = h.other_id
    WHERE h.other_id NOT IN (p.head_id, p.tail_id)
    GROUP BY p.head_id, p.tail_id)
SELECT p.head_id, p.tail_id, coalesce(b.support, 0) AS support,
    CASE WHEN b.support IS NULL THEN NULL ELSE b.support::DOUBLE * t.n / (uh.n * ut.n) END AS lift,
    coalesce(nb.dot / nullif(nh.norm * nt.norm, 0), 0.0) AS neighbourhood, coalesce(uh.n, 0) AS head_users
FROM (SELECT DISTINCT head_id, tail_id FROM gate_pairs) p
LEFT JOIN both_users b USING (head_id, tail_id)
LEFT JOIN neighbourhood nb USING (head_id, tail_id)
LEFT JOIN users_of uh ON uh.product_id = p.head_id
LEFT JOIN users_of ut ON ut.product_id = p.tail_id
LEFT JOIN norms nh ON nh.product_id = p.head_id
LEFT JOIN norms nt ON nt.product_id = p.tail_id
CROSS JOIN total t
"""


def _compare(interactions: pd.DataFrame, pairs: pd.DataFrame) -> int:
    with duckdb.connect() as conn:
        conn.register("interactions", interactions)
        found = behaviour_for_pairs(conn, pairs)
        conn.register("gate_pairs", pairs.drop_duplicates())
        expected = conn.execute(REFERENCE_SQL).df()
    merged = expected.merge(found, on=["head_id", "tail_id"], suffixes=("_sql", ""), validate="one_to_one")
    assert len(merged) == len(expected) == len(found)
    assert (merged["support"] == merged["support_sql"]).all()
    assert (merged["head_users"] == merged["head_users_sql"]).all()
    assert (merged["lift"].isna() == merged["lift_sql"].isna()).all()
    assert np.allclose(merged["lift"].fillna(0), merged["lift_sql"].fillna(0), rtol=1e-12, atol=0)
    assert np.allclose(merged["neighbourhood"], merged["neighbourhood_sql"], rtol=1e-9, atol=1e-12)
    return int((merged["support"] > 0).sum())


def test_sparse_evidence_equals_its_sql_definition_on_random_histories():
    rng = np.random.default_rng(7)
    users = rng.integers(0, 300, 4000)
    products = (rng.pareto(1.2, 4000) * 5).astype(int) % 120  # popular heads, a long tail
    interactions = pd.DataFrame({"user_id": [f"u{u}" for u in users], "product_id": [f"p{p:03d}" for p in products],
                                 "position": np.arange(4000)})  # repeats: the same user and product again
    heads = [f"p{p:03d}" for p in rng.integers(0, 140, 600)]  # p120-p139: nobody bought them
    tails = [f"p{p:03d}" for p in rng.integers(0, 140, 600)]
    pairs = pd.DataFrame({"head_id": heads + ["p001", "p001"], "tail_id": tails + ["p001", "p002"]})
    assert _compare(interactions, pairs) > 50


def test_sparse_evidence_equals_its_sql_definition_on_amazon_beauty():
    if not (BEAUTY / "interactions.csv").exists():
        pytest.skip("../shared/data/amazon-beauty is absent")
    interactions = pd.read_csv(BEAUTY / "interactions.csv", dtype=str)
    rng = np.random.default_rng(0)
    # Pairs someone bought together (consecutive items of a history) and random pairs.
    ordered = interactions.assign(position=interactions["position"].astype(int)).sort_values(["user_id", "position"])
    consecutive = pd.DataFrame({"head_id": ordered["product_id"].to_numpy()[:-1],
                                "tail_id": ordered["product_id"].to_numpy()[1:]})
    together = consecutive.sample(150, random_state=0)
    ids = interactions["product_id"].unique()
    random = pd.DataFrame({"head_id": rng.choice(ids, 150), "tail_id": rng.choice(ids, 150)})
    assert _compare(interactions, pd.concat([together, random], ignore_index=True)) >= 100


def test_small_chunks_give_the_same_evidence():
    """Memory is bounded by scoring pairs in chunks; the chunking must not change a figure."""
    from pkg_assets.core.cooccurrence import pair_evidence

    rng = np.random.default_rng(11)
    users, items = rng.integers(0, 200, 3000), (rng.pareto(1.0, 3000) * 3).astype(int) % 80
    distinct = np.unique(np.stack([users, items], axis=1), axis=0)
    users = np.unique(distinct[:, 0], return_inverse=True)[1]
    heads, tails = rng.integers(-1, 90, 500), rng.integers(-1, 90, 500)
    heads[heads >= 80], tails[tails >= 80] = -1, -1
    whole = pair_evidence(users, distinct[:, 1], 80, heads, tails)
    chunked = pair_evidence(users, distinct[:, 1], 80, heads, tails, max_entries=50)
    for name in ("support", "head_users", "lift", "neighbourhood"):
        assert np.allclose(getattr(whole, name), getattr(chunked, name), equal_nan=True, rtol=1e-12), name
