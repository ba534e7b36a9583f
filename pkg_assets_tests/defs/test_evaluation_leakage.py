"""The evaluation judges the LLM's edges with training behaviour only.

The production gate saw every interaction, test items included. An LLM edge whose only
evidence is users who bought both products in their *test* interactions must not reach the
evaluation graph; with the same co-purchases in training, it must.
"""

import duckdb
import numpy as np
import pandas as pd

from pkg_assets.core.recommend import with_reverse
from pkg_assets.defs.evaluation.assets import evaluation_graph
from pkg_assets.resources.warehouse import ensure_tables

PRODUCTS = [("H", "Acme Kettle, Steel", "Store > Kitchen > Kettles"), ("T", "Brewco Tea Sampler", "Store > Food > Tea"),
            ("X", "Other Thing", "Store > Misc > Things")]


def _catalog(vectors: np.ndarray) -> duckdb.DuckDBPyConnection:
    """A warehouse holding PRODUCTS with these embeddings (row i for product i)."""
    conn = duckdb.connect()
    ensure_tables(conn)
    for i, (pid, title, path) in enumerate(PRODUCTS):
        conn.execute("INSERT INTO products (product_id, title, category_path, category, content_hash) "
                     "VALUES (?, ?, ?, 'c', 'h')", [pid, title, path])
        conn.execute("INSERT INTO product_embeddings VALUES ('c', ?, 'h', 'm', ?, NULL)", [pid, vectors[i].tolist()])
    return conn


def _warehouse() -> duckdb.DuckDBPyConnection:
    conn = _catalog(np.eye(8, dtype=np.float32))  # orthogonal: no embedding evidence for any pair
    conn.execute("""INSERT INTO resolved_relations VALUES ('c', 'H', 'complements', 'complement', 'Brewco Tea Sampler',
                 'product', 0.9, 'tea for the kettle', '1', 'm', 'v', 'product', 'T', 0.95, 'exact title', NULL)""")
    # What production accepted, having seen the test interactions.
    conn.execute("""INSERT INTO validated_relations (category, head_id, relation, tail_mention, tail_kind, decision,
                 tail_id, factors, confidence, call_ids, model, prompt_version, gate_score)
                 VALUES ('c', 'H', 'complement', 'Brewco Tea Sampler', 'product', 'product', 'T', ['complements'],
                 0.9, ['1'], 'm', 'v', 0.8)""")
    return conn


def _train(with_copurchase: bool) -> pd.DataFrame:
    rows = [(f"u{i}", "H", 0) for i in range(6)] + [(f"u{i}", "X", 1) for i in range(6)]
    if with_copurchase:
        rows += [(f"u{i}", "T", 2) for i in range(3)]
    return pd.DataFrame(rows, columns=["user_id", "product_id", "position"])


def _has_llm_edge(edges: pd.DataFrame) -> bool:
    return bool(((edges["src_id"] == "H") & (edges["dst_id"] == "T") & (edges["relation"] == "complement")).any())


def test_an_edge_supported_only_by_test_interactions_does_not_reach_the_evaluation_graph():
    conn = _warehouse()
    assert not _has_llm_edge(evaluation_graph(conn, _train(with_copurchase=False), window=5, min_support=1))


def test_the_same_edge_with_training_support_does():
    conn = _warehouse()
    assert _has_llm_edge(evaluation_graph(conn, _train(with_copurchase=True), window=5, min_support=1))


def _warehouse_with_interpretation() -> duckdb.DuckDBPyConnection:
    """H and T's co-purchase interpreted as a complement, and nothing else proposing the edge;
    production selected the pair with at least 3 shared users (it saw every interaction). H and
    T's embeddings are close, so the gate accepts the edge even without behaviour: only the
    pair's selection from the training split can keep it out."""
    vectors = np.eye(8, dtype=np.float32)
    vectors[1] = np.array([0.8, 0.6, 0, 0, 0, 0, 0, 0], dtype=np.float32)  # cosine(H, T) = 0.8
    conn = _catalog(vectors)
    selection = '{"min_support": 3, "min_lift": 0.0, "per_product": 3, "max_calls": 500}'
    conn.execute("""INSERT INTO interpreted_relations (category, a_id, b_id, support, lift, jaccard, strength, outcome,
                 relation, src_id, dst_id, confidence, rationale, call_id, model, prompt_version, selection)
                 VALUES ('c', 'H', 'T', 3, 1.0, 0.5, 0.7, 'typed', 'complement', 'H', 'T', 0.9,
                 'tea is brewed with the kettle', 'call1', 'm', 'interpret_pair@v', ?)""", [selection])
    return conn


def test_an_interpretation_of_a_pair_only_test_interactions_select_does_not_reach_the_evaluation_graph():
    conn = _warehouse_with_interpretation()
    assert not _has_llm_edge(evaluation_graph(conn, _train(with_copurchase=False), window=5, min_support=1))


def test_the_same_interpretation_with_training_co_purchases_does():
    conn = _warehouse_with_interpretation()
    assert _has_llm_edge(evaluation_graph(conn, _train(with_copurchase=True), window=5, min_support=1))


def test_knowledge_is_walked_both_ways():
    edges = pd.DataFrame({"src_id": ["H", "A"], "relation": ["substitute", "co_purchased"], "dst_id": ["T", "B"],
                          "weight": [0.5, 1.0]})
    both = with_reverse(edges)
    assert set(zip(both["src_id"], both["dst_id"])) == {("H", "T"), ("T", "H"), ("A", "B")}


def test_evaluation_mines_amazon_beauty_training_behaviour_without_hanging():
    """Fetching the mining query's result into Python never returned on amazon-beauty's training
    split (duckdb 1.5.5): graph_evaluation hung there. The evaluation warehouse mines into a table."""
    import threading
    from pathlib import Path

    import pytest

    from pkg_assets.core.metrics import leave_last_out
    from pkg_assets.defs.evaluation.assets import evaluation_warehouse

    beauty = Path(__file__).resolve().parents[3] / "shared" / "data" / "amazon-beauty" / "interactions.csv"
    if not beauty.exists():
        pytest.skip("../shared/data/amazon-beauty is absent")
    train, _ = leave_last_out(pd.read_csv(beauty, dtype={"user_id": str, "product_id": str}))
    done: dict = {}

    def mine() -> None:
        with evaluation_warehouse(_warehouse(), train, window=5, min_support=2) as scratch:
            done["edges"] = scratch.execute("SELECT count(*) FROM behavior_edges").fetchone()[0]

    worker = threading.Thread(target=mine, daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "mining the training split did not finish in 120 s"
    assert done["edges"] > 50_000
