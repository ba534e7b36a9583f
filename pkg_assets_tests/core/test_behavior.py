"""Behaviour mining (sql/behavior_edges_build.sql) on a toy history checked by hand."""

import duckdb
import pandas as pd
import pytest

from pkg_assets.defs.behavior.assets import mine_behavior

HISTORIES = {"u1": "ABC", "u2": "AB", "u3": "BA", "u4": "CD"}


def _mine(window: int, min_support: int) -> dict:
    rows = [(user, item, position) for user, items in HISTORIES.items() for position, item in enumerate(items)]
    with duckdb.connect() as conn:
        conn.register("toy", pd.DataFrame(rows, columns=["user_id", "product_id", "position"]))
        select = mine_behavior(conn, "SELECT * FROM toy", window, min_support)
        found = conn.execute(select, {"window": window, "min_support": min_support}).fetchall()
    return {(src, relation, dst): (support, lift, score) for src, relation, dst, support, lift, score, _ in found}


def test_co_purchases_and_transitions_of_adjacent_items():
    edges = _mine(window=1, min_support=1)
    # co_purchased, both directions. Users: A 3, B 3, C 2, D 1, of 4.
    # A-B: u1, u2, u3 -> support 3, lift 3*4/(3*3), Jaccard 3/(3+3-3).
    assert edges[("A", "co_purchased", "B")] == (3, pytest.approx(4 / 3), pytest.approx(1.0))
    assert edges[("B", "co_purchased", "A")] == edges[("A", "co_purchased", "B")]
    # B-C: u1 -> lift 1*4/(3*2), Jaccard 1/(3+2-1);  C-D: u4 -> lift 1*4/(2*1), Jaccard 1/(2+1-1).
    assert edges[("B", "co_purchased", "C")] == (1, pytest.approx(4 / 6), pytest.approx(0.25))
    assert edges[("C", "co_purchased", "D")] == (1, pytest.approx(2.0), pytest.approx(0.5))
    assert ("A", "co_purchased", "C") not in edges  # two positions apart: outside a window of 1
    # next_item, directed: A->B twice (u1, u2) of A's 2 transitions; B->C and B->A once each of B's 2.
    assert edges[("A", "next_item", "B")] == (2, None, pytest.approx(1.0))
    assert edges[("B", "next_item", "C")][::2] == (1, pytest.approx(0.5))
    assert edges[("B", "next_item", "A")][::2] == (1, pytest.approx(0.5))
    assert edges[("C", "next_item", "D")][::2] == (1, pytest.approx(1.0))
    assert ("D", "next_item", "C") not in edges
    assert len(edges) == 6 + 4


def test_window_and_minimum_support():
    assert ("A", "co_purchased", "C") in _mine(window=2, min_support=1)  # u1: A _ C
    strong = _mine(window=1, min_support=2)
    assert set(strong) == {("A", "co_purchased", "B"), ("B", "co_purchased", "A"), ("A", "next_item", "B")}


def test_next_item_support_counts_users_not_repeats():
    """One user who goes back and forth between two items is one piece of evidence."""
    rows = [("fan", item, position) for position, item in enumerate("ABABABABAB")] + [
        ("u2", "A", 0), ("u2", "C", 1), ("u3", "A", 0), ("u3", "C", 1)]
    with duckdb.connect() as conn:
        conn.register("toy", pd.DataFrame(rows, columns=["user_id", "product_id", "position"]))
        select = mine_behavior(conn, "SELECT * FROM toy", 1, 1)
        found = {(s, r, d): (support, score) for s, r, d, support, _, score, _ in
                 conn.execute(select, {"window": 1, "min_support": 1}).fetchall()}
    # A->B: only "fan" (five times), A->C: two users. Users decide: C is A's likelier next item.
    assert found[("A", "next_item", "B")] == (1, pytest.approx(1 / 3))
    assert found[("A", "next_item", "C")] == (2, pytest.approx(2 / 3))
    assert found[("B", "next_item", "A")][0] == 1
    with duckdb.connect() as conn:
        conn.register("toy", pd.DataFrame(rows, columns=["user_id", "product_id", "position"]))
        select = mine_behavior(conn, "SELECT * FROM toy", 1, 2)
        kept = {(s, r, d) for s, r, d, *_ in conn.execute(select, {"window": 1, "min_support": 2}).fetchall()}
    assert ("A", "next_item", "B") not in kept and ("A", "next_item", "C") in kept
