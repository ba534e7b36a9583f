"""Behaviour interpreted by the LLM (interpreted_relations): which co-purchased pairs are asked,
what becomes of each answer, and how typed ones reach the graph through the gate."""


import dagster as dg
import duckdb
import pandas as pd
import pytest

from pkg_assets.core.interpretation import gate_proposals, interpreted_rows
from pkg_assets.core.models import InterpretationAnswer
from pkg_assets.defs.behavior.assets import InterpretationConfig, select_pairs
from pkg_assets.fake_llm import FakeLLMServer
from pkg_assets.resources.warehouse import ensure_tables, open_folder_warehouse
from pkg_assets_tests.conftest import _env

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


# --------------------------------------------------------------------------- selection


def _behaviour(conn, pairs: list[tuple[str, str, int, float, float]], categories: dict[str, str]) -> None:
    """co_purchased edges in both directions, as the mining writes them."""
    for product, category in categories.items():
        conn.execute("INSERT INTO products (product_id, title, category, content_hash) VALUES (?, ?, ?, 'h')",
                     [product, f"title {product}", category])
    for a, b, support, lift, jaccard in pairs:
        for src, dst in ((a, b), (b, a)):
            conn.execute("INSERT INTO behavior_edges VALUES (?, 'co_purchased', ?, ?, ?, ?, NULL)",
                         [src, dst, support, lift, jaccard])


def _stages(conn, category="X", **config) -> dict[tuple[str, str], str]:
    pairs = select_pairs(conn, category, InterpretationConfig(**config))
    return dict(zip(zip(pairs["a_id"], pairs["b_id"]), pairs["stage"]))


@pytest.fixture
def behaviour_conn():
    with duckdb.connect() as conn:
        ensure_tables(conn)
        _behaviour(conn, [
            ("P1", "P2", 9, 4.0, 0.5),   # strongest
            ("P1", "P3", 6, 3.0, 0.3),
            ("P1", "P4", 5, 2.0, 0.2),
            ("P1", "P5", 4, 2.0, 0.1),   # P5 is in another category: both select the pair
            ("P2", "P3", 2, 5.0, 0.2),   # support below 3
            ("P3", "P4", 8, 1.1, 0.4),   # lift below 1.5
            ("P5", "P6", 7, 3.0, 0.6),   # Y's own pair
        ], {"P1": "X", "P2": "X", "P3": "X", "P4": "X", "P5": "Y", "P6": "Y"})
        yield conn


def test_selection_keeps_pairs_above_support_and_lift_once_each(behaviour_conn):
    stages = _stages(behaviour_conn, min_support=3, min_lift=1.5, per_product=10, max_calls=100)
    assert stages == {("P1", "P2"): "selected", ("P1", "P3"): "selected", ("P1", "P4"): "selected",
                      ("P1", "P5"): "selected", ("P2", "P3"): "below_thresholds", ("P3", "P4"): "below_thresholds"}
    # a pair of two categories is selected by both, in the same A/B order (one ledger answer)
    assert _stages(behaviour_conn, "Y", min_support=3, min_lift=1.5, per_product=10, max_calls=100) == {
        ("P1", "P5"): "selected", ("P5", "P6"): "selected"}


def test_selection_caps_pairs_per_product_keeping_the_strongest(behaviour_conn):
    stages = _stages(behaviour_conn, min_support=3, min_lift=1.5, per_product=2, max_calls=100)
    assert [pair for pair, stage in stages.items() if stage == "selected"] == [("P1", "P2"), ("P1", "P3")]
    assert stages[("P1", "P4")] == stages[("P1", "P5")] == "over_per_product_cap"


def test_selection_spends_the_call_budget_on_the_strongest_pairs(behaviour_conn):
    stages = _stages(behaviour_conn, min_support=3, min_lift=1.5, per_product=10, max_calls=1)
    assert [pair for pair, stage in stages.items() if stage == "selected"] == [("P1", "P2")]
    assert sorted(stage for stage in stages.values() if stage == "over_budget") == ["over_budget"] * 3
    assert _stages(behaviour_conn, min_support=3, min_lift=1.5, per_product=10, max_calls=0).get(("P1", "P2")) == \
        "over_budget"


# --------------------------------------------------------------------------- answers


def test_no_meaningful_relation_is_kept_but_proposes_no_edge():
    pairs = pd.DataFrame({"a_id": ["A1", "A2", "A3"], "b_id": ["B1", "B2", "B3"], "support": [5, 4, 3],
                          "lift": [2.0, 2.0, 2.0], "jaccard": [0.3, 0.2, 0.1], "strength": [0.6, 0.5, 0.4]})
    answers = {
        ("A1", "B1"): ("c1", InterpretationAnswer(relation="none", confidence=0.8, rationale="both were on sale")),
        ("A2", "B2"): ("c2", InterpretationAnswer(relation="accessory", head="B", confidence=0.9, rationale="fits it")),
    }
    frame = interpreted_rows("X", pairs, answers, {}, {}, "m", "interpret_pair@1", "{}")
    assert frame["outcome"].tolist() == ["no_relation", "typed", "unanswered"]
    assert frame.loc[1, ["src_id", "dst_id"]].tolist() == ["B2", "A2"]  # "head": "B" orients the edge
    proposals = gate_proposals(frame, {"A1", "B1", "A2", "B2", "A3", "B3"})
    assert proposals[["head_id", "relation", "tail_id", "factor"]].values.tolist() == [
        ["B2", "accessory", "A2", "interpreted"]]


def test_a_shared_concept_becomes_an_edge_from_each_product():
    pairs = pd.DataFrame({"a_id": ["A1"], "b_id": ["B1"], "support": [5], "lift": [2.0], "jaccard": [0.3],
                          "strength": [0.6]})
    answer = InterpretationAnswer(relation="for_occasion", concept="Baby  Shower", confidence=0.8, rationale="gifts")
    frame = interpreted_rows("X", pairs, {("A1", "B1"): ("c1", answer)}, {},
                             {("occasion", "baby shower"): "concept:occasion:known"}, "m", "v", "{}")
    proposals = gate_proposals(frame, {"A1", "B1"})
    assert proposals[["head_id", "relation", "tail_id", "decision"]].values.tolist() == [
        ["A1", "for_occasion", "concept:occasion:known", "concept"],
        ["B1", "for_occasion", "concept:occasion:known", "concept"]]
    # a partition judges its own products' edges: B1 in another category is judged there
    assert gate_proposals(frame, {"A1"})["head_id"].tolist() == ["A1"]


@pytest.mark.parametrize("answer", [
    {"relation": "used_for", "confidence": 0.8},  # a shared concept must be named
    {"relation": "complement", "concept": "breakfast", "confidence": 0.8},  # a product relation names none
    {"relation": "bundle", "confidence": 0.8},  # outside the vocabulary
])
def test_answers_outside_the_schema_are_refused(answer):
    with pytest.raises(ValueError):
        InterpretationAnswer.model_validate(answer)


# --------------------------------------------------------------------------- through the fake server


class Shop:
    """A small catalog with co-purchases, interpreted through litellm's HTTP path."""

    def __init__(self, tmp_path, server: FakeLLMServer):
        products = pd.DataFrame([
            ("K1", "Steel Kettle Classic", "Home > Kitchen > Kettles"),
            ("K2", "Loose Leaf Tea Tin", "Home > Kitchen > Tea"),
            ("K3", "Steel Kettle Descaler", "Home > Kitchen > Cleaning"),
            ("K4", "Oven Mitt Pair", "Home > Kitchen > Textiles"),
            ("K5", "Garden Hose Reel", "Home > Garden > Watering"),
        ], columns=["product_id", "title", "category_path"])
        products.to_csv(tmp_path / "shop.csv", index=False)
        events = []
        for user in range(12):  # K1+K3 (share "steel kettle"), K1+K2 (share a level), K4+K5 (nothing)
            for basket in (["K1", "K3"], ["K1", "K2"], ["K4", "K5"]):
                for position, product in enumerate(basket):
                    events.append((f"U{user:02d}-{basket[0]}{basket[1]}", product, position))
        pd.DataFrame(events, columns=["user_id", "product_id", "position"]).to_csv(tmp_path / "events.csv", index=False)
        self.data = tmp_path / "data"
        self.env = {"PKG_CATALOG_PATH": str(tmp_path / "shop.csv"), "PKG_INTERACTIONS_PATH": str(tmp_path / "events.csv"),
                    "PKG_DATA_DIR": str(self.data), "PKG_LLM_MODEL": "openai/fake-model",
                    "PKG_LLM_API_BASE": server.base_url}
        self.instance = dg.DagsterInstance.ephemeral()
        self.instance.add_dynamic_partitions("category", ["Kitchen", "Garden"])
        for assets, partition in ((["products"], "Kitchen"), (["products"], "Garden"),
                                  (["interactions", "behavior_edges"], None)):
            assert self.run(assets, partition).success

    def run(self, assets, partition="Kitchen", config: dict | None = None):
        from pkg_assets.definitions import make_definitions

        with _env(self.env):
            defs = make_definitions()
            job = defs.resolve_implicit_global_asset_job_def().get_subset(
                asset_selection={dg.AssetKey(a) for a in assets})
            ops = {"ops": config} if config else {}
            return job.execute_in_process(instance=self.instance, partition_key=partition,
                                          run_config={**QUIET, **ops}, raise_on_error=False)

    def query(self, sql):
        with open_folder_warehouse(self.data) as conn:
            return conn.execute(sql).df()


def _metadata(result, asset: str) -> dict:
    events = [e for e in result.get_asset_materialization_events()
              if e.asset_key == dg.AssetKey(asset)]
    return {k: v.value for k, v in events[-1].materialization.metadata.items()}


def test_interpretation_through_the_fake_server_asks_once_and_keeps_every_outcome(tmp_path):
    config = {"interpreted_relations": {"config": {"min_lift": 1.2}}}
    with FakeLLMServer() as server:
        shop = Shop(tmp_path, server)
        first = shop.run(["interpreted_relations"], config=config)
        assert first.success
        metadata = _metadata(first, "interpreted_relations")
        rows = shop.query("SELECT a_id, b_id, outcome, relation, src_id, dst_id, concept FROM interpreted_relations "
                          "WHERE category = 'Kitchen' ORDER BY a_id, b_id")
        # The fake model: titles sharing a word -> complement; a shared category level -> a
        # usage; nothing in common -> "none". K4 + K5 spans two categories: both select it.
        assert rows.astype(object).where(rows.notna(), None).values.tolist() == [
            ["K1", "K2", "typed", "used_for", None, None, "kitchen routine"],
            ["K1", "K3", "typed", "complement", "K1", "K3", None],
            ["K4", "K5", "no_relation", "none", None, None, None],
        ]
        assert (metadata["llm_calls_made"], metadata["typed"], metadata["no_relation"]) == (3, 2, 1)
        assert metadata["calls_per_1000_behaviour_pairs"] == 1000.0  # every co-purchased pair asked
        requests = server.stats["requests"]

        again = shop.run(["interpreted_relations"], config=config)
        assert again.success and server.stats["requests"] == requests  # the ledger answers: nothing re-paid
        assert _metadata(again, "interpreted_relations")["llm_cache_hits"] == 3
        assert shop.query("SELECT count(*) AS n FROM interpreted_relations")["n"][0] == 3

        # Garden selects K4 + K5 too, and the ledger answers it: the pair is paid for once
        garden = shop.run(["interpreted_relations"], partition="Garden", config=config)
        figures = _metadata(garden, "interpreted_relations")
        assert garden.success and (figures["pairs_selected"], figures["llm_calls_made"]) == (1, 0)
        assert server.stats["requests"] == requests


# --------------------------------------------------------------------------- the demo (recorded answers)


def test_the_demo_interprets_co_purchases_and_publishes_only_gated_edges(demo_run):
    outcomes = dict(demo_run.query("SELECT outcome, count(*) FROM interpreted_relations GROUP BY 1"))
    assert outcomes.get("typed", 0) > 50 and outcomes.get("no_relation", 0) >= 3 and outcomes.get("invalid") == 1
    assert "unanswered" not in outcomes  # every selected pair has a recording
    # typed pairs reach the graph as llm_interpreted edges, each one accepted by the gate
    published = demo_run.query("""
        SELECT e.src_id, e.relation, e.dst_id FROM pkg_edges e WHERE list_contains(e.sources, 'llm_interpreted')
        EXCEPT SELECT head_id, relation, tail_id FROM validated_relations WHERE list_contains(factors, 'interpreted')""")
    assert published == []
    assert demo_run.query("SELECT count(*) FROM pkg_edges WHERE list_contains(sources, 'llm_interpreted')")[0][0] > 50
    # the untyped co_purchased edge of an interpreted pair stays
    a_id, b_id = demo_run.query("SELECT a_id, b_id FROM interpreted_relations WHERE outcome = 'typed' LIMIT 1")[0]
    assert demo_run.query(f"SELECT count(*) FROM pkg_edges WHERE src_id = '{a_id}' AND dst_id = '{b_id}' "
                          "AND relation = 'co_purchased'")[0][0] == 1


def test_the_gate_rejects_an_interpretation_that_contradicts_the_product_types(demo_run):
    # Recorded on purpose: "a kettle is a substitute for tea", "a phone case for a power bank".
    rejected = demo_run.query("""
        SELECT r.relation, r.reasons, ph.title, pt.title FROM rejected_relations r
        JOIN products ph ON ph.product_id = r.head_id JOIN products pt ON pt.product_id = r.tail_id
        WHERE list_contains(r.factors, 'interpreted') AND r.relation = 'substitute'""")
    assert len(rejected) >= 2
    assert all(relation == "substitute" and reasons for relation, reasons, _, _ in rejected)
    heads = " ".join(head for *_, head, _ in rejected).lower()
    assert "kettle" in heads and "case" in heads
    assert demo_run.query("SELECT count(*) FROM pkg_edges WHERE relation = 'substitute' AND "
                          "list_contains(sources, 'llm_interpreted') AND list_contains(sources, 'llm_individual') = false "
                          "AND src_id IN (SELECT head_id FROM rejected_relations WHERE list_contains(factors, 'interpreted') "
                          "AND relation = 'substitute')")[0][0] == 0


def test_explain_shows_why_two_co_purchased_products_relate(demo_run, tmp_path):
    import shutil

    from pkg_assets.serving import ServedGraph

    a_id, b_id, rationale = demo_run.query("""
        SELECT i.a_id, i.b_id, i.rationale FROM interpreted_relations i
        JOIN validated_relations v ON v.head_id = i.src_id AND v.tail_id = i.dst_id AND v.relation = i.relation
        WHERE i.outcome = 'typed' AND list_contains(v.factors, 'interpreted') AND v.factors = ['interpreted']
        ORDER BY i.strength DESC LIMIT 1""")[0]
    copy = tmp_path / "pkg.duckdb"
    shutil.copy(demo_run.snapshot, copy)
    graph = ServedGraph(copy)
    try:
        paths = graph.explain(a_id, b_id)
    finally:
        graph.close()
    interpreted = [p for p in paths if "llm_interpreted" in p["sources"]]
    assert interpreted and interpreted[0]["rationale"] == rationale
    assert any(p["relation"] == "co_purchased" for p in paths)
