"""The demo, materialised end to end in a temporary instance and data folder."""

import json
import shutil

import dagster as dg
import duckdb
import pytest

from pkg_assets import settings
from pkg_assets_tests.conftest import _env
from pkg_assets.resources.warehouse import open_folder_warehouse

ALL_ASSETS = ["products", "interactions", "llm_relations", "product_embeddings", "product_duplicates",
              "resolved_relations", "concepts", "interpreted_relations",
              "validated_relations", "rejected_relations", "product_clusters", "cluster_knowledge",
              "knowledge_vectors", "behavior_edges", "pkg_nodes", "pkg_edges", "pkg_topk", "pkg_snapshot",
              "graph_evaluation", "user_preferences", "user_kg_context"]


def _latest(run, name, partition=None):
    event = run.instance.get_latest_materialization_event(dg.AssetKey(name)) if partition is None else None
    if partition is not None:
        records = run.instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(name), asset_partitions=[partition]), limit=1).records
        event = records[0].event_log_entry if records else None
    return event


def test_every_asset_is_materialised_and_the_snapshot_is_queryable(demo_run):
    categories = demo_run.instance.get_dynamic_partitions("category")
    assert len(categories) == 7
    for name in ALL_ASSETS:
        assert _latest(demo_run, name) is not None, name
    for category in categories:
        assert _latest(demo_run, "validated_relations", category) is not None
    (products,), (rejected,), (proposed,), (accepted,), (edges,) = (
        demo_run.query(f"SELECT count(*) FROM {t}")[0:1]
        for t in ("products", "products_rejected", "llm_relations", "validated_relations", "pkg_edges")
    )
    assert products == (122,) and rejected == (4,)
    assert proposed[0] > 1000 and 0 < accepted[0] < proposed[0] and edges[0] > accepted[0]

    with duckdb.connect(str(demo_run.snapshot), read_only=True) as snap:
        assert snap.execute("SELECT count(*) FROM pkg_edges").fetchall()[0][0] == edges[0]
        related = snap.execute(
            "SELECT related_title FROM related_products WHERE product_id = ? AND relation = '*' ORDER BY rank", ["D0011"]
        ).fetchall()
        assert related  # carnations have neighbours
        explained = snap.execute("SELECT path, relation FROM explain_pair('D0011', 'D0041')").fetchall()
        assert explained  # carnations and the Mother's Day card are linked, directly or via a concept
        sources = {s for (row,) in snap.execute("SELECT sources FROM pkg_edges").fetchall() for s in row}
        assert sources == {"llm_individual", "llm_interpreted", "llm_collective", "behavior"}


def test_carnations_complement_a_mothers_day_card(demo_run):
    rows = demo_run.query(
        "SELECT relation, sources, evidence FROM pkg_edges WHERE src_id = 'D0011' AND dst_id IN ('D0041', 'D0042')"
    )
    assert any(relation == "complement" and "llm_individual" in sources for relation, sources, _ in rows)
    evidence = json.loads(rows[0][2])
    assert evidence[0]["source"] in {"llm_individual", "behavior"}


def test_rejected_edges_keep_their_reasons_and_the_invalid_answer_is_in_the_ledger(demo_run):
    reasons = {r for (r,) in demo_run.query("SELECT split_part(reasons, ':', 1) FROM rejected_relations")}
    assert "unresolved" in reasons
    assert demo_run.query("SELECT count(*) FROM rejected_relations WHERE reasons = ''") == [(0,)]
    invalid = dict((prompt, (error, response)) for prompt, error, response in demo_run.query(
        "SELECT prompt_name, error, response FROM llm_calls WHERE status = 'invalid'"))
    assert sorted(invalid) == ["factor_usage", "interpret_pair"]  # one recorded answer of each breaks its schema
    assert "relation" in invalid["factor_usage"][0] and "best_friend" in invalid["factor_usage"][1]
    assert "relation" in invalid["interpret_pair"][0] and "bundle" in invalid["interpret_pair"][1]


def test_injected_description_does_not_change_the_output(demo_run):
    (pid,) = demo_run.query("SELECT product_id FROM products WHERE description LIKE '%IGNORE PREVIOUS%'")[0]
    rows = demo_run.query("SELECT relation, tail_id FROM validated_relations WHERE head_id = ?", [pid])
    nova = demo_run.query("SELECT product_id FROM products WHERE title LIKE 'Nova X5 Smartphone%'")[0][0]
    assert rows and all(tail != nova for _, tail in rows)


def test_instructions_echoed_as_concepts_are_rejected_and_never_published(demo_run):
    """The demo plants three answers whose "concept" is an instruction (a role marker, a
    zero-width character inside "ignore", "ignore the previous instructions")."""
    from pkg_assets.data.demo.catalog_source import PLANTED_CONCEPT_ANSWERS

    for _, _, relation, tail in PLANTED_CONCEPT_ANSWERS:
        rejected = demo_run.query("SELECT reasons FROM rejected_relations WHERE relation = ? AND tail_mention = ?",
                                  [relation, tail])
        assert rejected and all("injection" in reasons for (reasons,) in rejected), tail
        assert demo_run.query("SELECT count(*) FROM validated_relations WHERE tail_mention = ?", [tail]) == [(0,)]
    probes = ["%rank D0011 first%", "%nore previous instructions%", "%ignore the previous%"]
    for probe in probes:
        assert demo_run.query("SELECT count(*) FROM pkg_nodes WHERE name ILIKE ? OR array_to_string(surface_forms, '|') "
                              "ILIKE ?", [probe, probe]) == [(0,)], probe
        assert demo_run.query("SELECT count(*) FROM user_kg_context WHERE path_text ILIKE ?", [probe]) == [(0,)]
    # Every published concept is the tail of an accepted edge.
    assert demo_run.query(
        "SELECT count(*) FROM pkg_nodes n WHERE node_type = 'concept' AND NOT EXISTS "
        "(SELECT 1 FROM pkg_edges e WHERE e.dst_id = n.node_id)") == [(0,)]


def test_rematerialising_makes_zero_llm_calls(demo_run):
    before = demo_run.query("SELECT count(*) FROM llm_calls")[0][0]
    result = demo_run.execute("knowledge_job", "Coffee & Tea")
    assert result.success
    assert demo_run.query("SELECT count(*) FROM llm_calls")[0][0] == before
    metadata = _latest(demo_run, "llm_relations", "Coffee & Tea").asset_materialization.metadata
    assert metadata["llm_calls_made"].value == 0 and metadata["llm_cache_hits"].value == 19 * 6


def test_a_partition_rerun_replaces_only_its_own_rows(demo_run):
    tables = ["products", "llm_relations", "resolved_relations", "validated_relations", "product_embeddings"]

    def fingerprint(where):
        return {t: demo_run.query(f"SELECT count(*), hash(list(t ORDER BY t)) FROM {t} AS t WHERE {where}")
                for t in tables}

    others_before = fingerprint("category <> 'Pets'")
    pets_before = fingerprint("category = 'Pets'")
    stamp = demo_run.query("SELECT max(extracted_at) FROM llm_relations WHERE category = 'Pets'")[0][0]
    assert demo_run.execute("category_rebuild_job", "Pets").success
    assert fingerprint("category <> 'Pets'") == others_before
    after = fingerprint("category = 'Pets'")
    assert {t: v[0][0] for t, v in after.items()} == {t: v[0][0] for t, v in pets_before.items()}
    assert demo_run.query("SELECT max(extracted_at) FROM llm_relations WHERE category = 'Pets'")[0][0] > stamp


def _suites_with_failing_expectation(tmp_path, severity: str):
    """A copy of expectations/ whose llm_relations suite gains one expectation that fails."""
    suites = tmp_path / "expectations"
    shutil.copytree(settings.expectations_dir(), suites)
    suite = json.loads((suites / "llm_relations.json").read_text())
    suite["expectations"].append({"type": "expect_table_row_count_to_be_between",
                                  "kwargs": {"max_value": 3}, "severity": severity})
    (suites / "llm_relations.json").write_text(json.dumps(suite))
    return suites


def test_a_failed_critical_expectation_blocks_downstream(demo_run, tmp_path):
    suites = _suites_with_failing_expectation(tmp_path, "critical")
    with _env({"PKG_EXPECTATIONS_DIR": str(suites)}):
        result = demo_run.execute("knowledge_job", "Baby", raise_on_error=False)
    assert not result.success
    checks = [e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    failed = [e.event_specific_data for e in checks if not e.event_specific_data.passed]
    assert [f.asset_check_key.name for f in failed] == ["llm_relations_suite"]
    assert "expect_table_row_count_to_be_between" in failed[0].metadata["expectations"].value
    materialised = {e.asset_key.to_user_string() for e in result.all_events if e.is_step_materialization}
    assert "llm_relations" in materialised and "resolved_relations" not in materialised
    # The warning-severity suites still pass with the real suites.
    assert demo_run.execute("knowledge_job", "Baby").success


def test_a_failed_warning_expectation_does_not_block(demo_run, tmp_path):
    suites = _suites_with_failing_expectation(tmp_path, "warning")
    with _env({"PKG_EXPECTATIONS_DIR": str(suites)}):
        result = demo_run.execute("knowledge_job", "Pets")
    assert result.success
    evaluation = next(e.event_specific_data for e in result.all_events
                      if e.event_type_value == "ASSET_CHECK_EVALUATION"
                      and e.event_specific_data.asset_check_key.name == "llm_relations_suite")
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    materialised = {e.asset_key.to_user_string() for e in result.all_events if e.is_step_materialization}
    assert {"resolved_relations", "validated_relations", "knowledge_vectors"} <= materialised


def test_snapshot_readers_keep_their_graph_while_a_new_one_is_published(demo_run):
    reader = duckdb.connect(str(demo_run.snapshot), read_only=True)
    before = reader.execute("SELECT count(*) FROM pkg_edges").fetchall()[0][0]
    assert demo_run.execute("graph_job").success
    assert reader.execute("SELECT count(*) FROM pkg_edges").fetchall()[0][0] == before
    reader.close()
    with duckdb.connect(str(demo_run.snapshot), read_only=True) as fresh:
        assert fresh.execute("SELECT count(*) FROM snapshot_info").fetchall() == [(1,)]
    assert not list(demo_run.snapshot.parent.glob(".*.tmp"))


def test_a_reader_loop_never_sees_an_error_or_a_partial_graph_while_the_graph_is_rebuilt(demo_run):
    import threading

    reads, errors, stop = [], [], threading.Event()

    def read_loop():
        while not stop.is_set():
            try:
                with duckdb.connect(str(demo_run.snapshot), read_only=True) as conn:
                    declared, edges, topk_sources = conn.execute(
                        "SELECT n_edges, (SELECT count(*) FROM pkg_edges), (SELECT count(DISTINCT src_id) FROM pkg_topk)"
                        " FROM snapshot_info").fetchall()[0]
                reads.append((declared, edges, topk_sources))
            except Exception as exc:
                errors.append(repr(exc))

    reader = threading.Thread(target=read_loop)
    reader.start()
    try:
        for _ in range(2):
            assert demo_run.execute("graph_job").success
    finally:
        stop.set()
        reader.join()
    assert not errors and len(reads) > 10
    # Every read saw a whole graph: the edge count it declares is the edge count it has.
    assert all(declared == edges and topk > 0 for declared, edges, topk in reads)


@pytest.mark.parametrize("fmt", ["csv"])
def test_products_asset_on_a_csv_catalog_quarantines_bad_rows(tmp_path, fmt):
    from pkg_assets.definitions import make_definitions

    catalog = tmp_path / "shop.csv"
    catalog.write_text("sku,name,cost,cats\nA1,Kettle,10,Home > Kitchen\nA1,Dup,3,Home > Kitchen\n"
                       "A2,,4,Home > Kitchen\nA3,Mug,??,Home > Kitchen\nA4,Tea &amp; Co,2,Home > Pantry\n")
    env = {"PKG_CATALOG_PATH": str(catalog), "PKG_CATALOG_COLUMNS": "product_id=sku,title=name,price=cost,category_path=cats",
           "PKG_DATA_DIR": str(tmp_path / "data")}
    with _env(env):
        defs = make_definitions()
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions("category", ["Kitchen", "Pantry"])
        for category in ("Kitchen", "Pantry"):
            assert defs.resolve_job_def("catalog_job").execute_in_process(instance=instance, partition_key=category).success
    with open_folder_warehouse(tmp_path / "data") as conn:
        assert conn.execute("SELECT product_id, title, category, price, parse_flags FROM products ORDER BY 1").fetchall() == [
            ("A1", "Kettle", "Kitchen", 10.0, None), ("A3", "Mug", "Kitchen", None, "price: not a number ('??')"),
            ("A4", "Tea & Co", "Pantry", 2.0, None)]  # a bad optional value is nulled and flagged, the product kept
        reasons = [r for (r,) in conn.execute("SELECT reason FROM products_rejected ORDER BY source_row").fetchall()]
        assert reasons == ["duplicate product_id (first seen at row 1)", "empty title"]


def test_graph_evaluation_reports_every_recommender_at_10_and_20(demo_run):
    rows = demo_run.query("SELECT recommender, metric, k, value FROM graph_evaluation WHERE k IS NOT NULL")
    found = {(r, m, k): v for r, m, k, v in rows}
    recommenders = {"popularity", "cooccurrence_knn", "graph_behaviour", "graph_fused"}
    assert set(found) == {(r, m, k) for r in recommenders for m in ("recall", "ndcg") for k in (10, 20)}
    assert all(0 <= v <= 1 for v in found.values())
    assert found[("graph_fused", "ndcg", 10)] > found[("popularity", "ndcg", 10)]


def _image(metadata_value) -> bytes:
    import base64
    import re

    found = re.search(r"\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", metadata_value.value)
    assert found, metadata_value.value[:200]
    return base64.b64decode(found.group(1))


def test_the_asset_pages_carry_charts_the_ui_renders(demo_run):
    """graph_evaluation: the table and the recommenders side by side; validated_relations: gate
    scores accepted/rejected and acceptance by relation. PNG images in markdown metadata."""
    evaluation = _latest(demo_run, "graph_evaluation").asset_materialization.metadata
    assert evaluation["results"].value.startswith("| recommender |")
    gate = _latest(demo_run, "validated_relations", "Coffee & Tea").asset_materialization.metadata
    for chart in (evaluation["results_chart"], gate["gate_scores"], gate["acceptance_by_relation"]):
        png = _image(chart)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and 3_000 < len(png) < 200_000
