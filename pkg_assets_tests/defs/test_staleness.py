"""Staleness that means something: on the materialised demo, each kind of change marks
exactly the assets that run it stale, as Dagster's own stale-status resolver (the one behind
the UI's "stale" badges and GraphQL's `staleStatus`) reports it."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContextForTest

from pkg_assets import settings
from pkg_assets.core import prompts
from pkg_assets.defs.partitions import CATEGORY_PARTITIONS_NAME

from ..conftest import _env


def stale(demo_run, defs: dg.Definitions) -> dict[str, set[str]]:
    """Every stale asset with its stale partitions ('' for an unpartitioned asset) and the
    causes' categories, as the UI would show them for these definitions."""
    graph = defs.resolve_asset_graph()
    resolver = CachingStaleStatusResolver(demo_run.instance, graph, LoadingContextForTest(demo_run.instance))
    categories = demo_run.instance.get_dynamic_partitions(CATEGORY_PARTITIONS_NAME)
    found: dict[str, set[str]] = {}
    for key in graph.materializable_asset_keys:
        for partition in (categories if graph.get(key).is_partitioned else [None]):
            if resolver.get_status(key, partition) == StaleStatus.STALE:
                causes = {c.category.value for c in resolver.get_stale_causes(key, partition)}
                found.setdefault(key.to_user_string(), set()).add(f"{partition or ''}:{'+'.join(sorted(causes))}")
    return found


def definitions(demo_run, **env: str) -> dg.Definitions:
    from pkg_assets.definitions import make_definitions

    with _env({**demo_run.env, **env}):
        return make_definitions()


def partitions(demo_run, cause: str) -> set[str]:
    return {f"{c}:{cause}" for c in demo_run.instance.get_dynamic_partitions(CATEGORY_PARTITIONS_NAME)}


def test_every_asset_has_a_derived_code_version(demo_run):
    graph = definitions(demo_run).resolve_asset_graph()
    versions = {key.to_user_string(): graph.get(key).code_version for key in graph.materializable_asset_keys}
    assert len(versions) >= 20 and all(versions.values()), versions
    # one version per multi-asset, otherwise each asset runs its own code
    assert versions["validated_relations"] == versions["rejected_relations"]
    assert versions["pkg_nodes"] != versions["pkg_edges"] != versions["pkg_topk"]


def test_the_demo_is_fresh_and_building_the_definitions_again_changes_nothing(demo_run):
    assert stale(demo_run, definitions(demo_run)) == {}


def test_a_prompt_edit_marks_the_extraction_stale_and_nothing_else(demo_run, tmp_path, monkeypatch):
    copy = tmp_path / "prompts"
    shutil.copytree(prompts.PROMPTS_DIR, copy)
    (copy / "factor_usage.j2").write_text((copy / "factor_usage.j2").read_text() + "\nBe concise.\n")
    monkeypatch.setattr(prompts, "PROMPTS_DIR", copy)
    # a fresh template object: versions are cached per object
    monkeypatch.setitem(prompts.FACTOR_PROMPTS, "usage", prompts.PromptTemplate(
        "factor_usage", "factor_usage.j2", ("_product_block.j2",)))
    assert stale(demo_run, definitions(demo_run)) == {"llm_relations": partitions(demo_run, "CODE")}


def test_a_sql_edit_marks_the_assets_that_run_that_file_stale(demo_run, tmp_path):
    copy = tmp_path / "sql"
    shutil.copytree(settings.sql_dir(), copy)
    edited = copy / "pkg_edges_build.sql"
    edited.write_text(edited.read_text() + "\n-- a reviewed change\n")
    # pkg_edges builds the table from it; graph_evaluation builds its training graph from it
    assert stale(demo_run, definitions(demo_run, PKG_SQL_DIR=str(copy))) == {
        "pkg_edges": {":CODE"}, "graph_evaluation": {":CODE"}}


def test_a_view_edit_marks_the_snapshot_that_publishes_the_views_stale(demo_run, tmp_path):
    copy = tmp_path / "sql"
    shutil.copytree(settings.sql_dir(), copy)
    view = copy / "views" / "related_products.sql"
    view.write_text(view.read_text() + "\n-- a reviewed change\n")
    assert stale(demo_run, definitions(demo_run, PKG_SQL_DIR=str(copy))) == {"pkg_snapshot": {":CODE"}}


def test_a_model_switch_marks_every_asset_that_asks_the_model_stale(demo_run):
    changed = stale(demo_run, definitions(demo_run, PKG_LLM_MODEL="openai/gpt-4o-mini"))
    # extraction, the interpretation of co-purchases and collective knowledge ask it; the gate
    # asks it about borderline edges
    assert changed == {name: partitions(demo_run, "CODE") for name in (
        "llm_relations", "interpreted_relations", "cluster_knowledge", "validated_relations", "rejected_relations")}


def test_a_throughput_setting_changes_no_answer_and_marks_nothing_stale(demo_run):
    assert stale(demo_run, definitions(demo_run, PKG_LLM_MAX_IN_FLIGHT="2", PKG_LLM_RETRIES="1")) == {}


def test_a_changed_catalog_file_marks_its_readers_stale_until_it_is_read(demo_run, tmp_path):
    copy = tmp_path / "catalog"
    shutil.copytree(settings.DEMO_DIR, copy)
    products_file = next(p for p in copy.iterdir() if p.name.startswith("products"))
    products_file.write_text(products_file.read_text().replace("Mug", "Cup", 1))
    changed = definitions(demo_run, PKG_CATALOG_PATH=str(copy))
    original = definitions(demo_run)
    observe = "observe_catalog_job"
    try:
        with _env({**demo_run.env, "PKG_CATALOG_PATH": str(copy)}):
            changed.resolve_job_def(observe).execute_in_process(instance=demo_run.instance)
        assert stale(demo_run, changed) == {"products": partitions(demo_run, "DATA"), "interactions": {":DATA"}}
    finally:
        with _env(demo_run.env):
            original.resolve_job_def(observe).execute_in_process(instance=demo_run.instance)
    assert stale(demo_run, original) == {}


@pytest.mark.parametrize("setting", ["PKG_CATEGORY_LEVEL", "PKG_MAX_PRICE"])
def test_a_reader_setting_marks_the_readers_stale(demo_run, setting):
    value = {"PKG_CATEGORY_LEVEL": "3", "PKG_MAX_PRICE": "500"}[setting]
    assert set(stale(demo_run, definitions(demo_run, **{setting: value}))) == {"products", "interactions"}
