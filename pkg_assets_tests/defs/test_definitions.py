"""The code location loads, and every asset carries what the UI needs."""

from datetime import datetime

import dagster as dg

from pkg_assets.definitions import make_definitions
from pkg_assets.defs.partitions import CATEGORY_PARTITIONS_NAME

EXPECTED = {
    "catalog": {"products", "interactions"},
    "extraction": {"llm_relations"},
    "resolution": {"product_embeddings", "resolved_relations", "concepts", "product_duplicates"},
    "validation": {"validated_relations", "rejected_relations"},
    "collective": {"product_clusters", "cluster_knowledge", "knowledge_vectors"},
    "behavior": {"behavior_edges", "interpreted_relations"},
    "graph": {"pkg_nodes", "pkg_edges", "pkg_topk", "pkg_snapshot"},
    "evaluation": {"graph_evaluation"},
    "personalization": {"user_preferences", "user_kg_context"},
}


def test_every_stage_loads_with_group_description_and_kinds():
    defs = make_definitions()
    graph = defs.resolve_asset_graph()
    materialisable = {key.to_user_string(): key for key in graph.materializable_asset_keys}
    assert set(materialisable) == set().union(*EXPECTED.values())
    for group, names in EXPECTED.items():
        for name in names:
            node = graph.get(materialisable[name])
            assert node.group_name == group, name
            assert node.description and len(node.description) > 30, name
            assert node.kinds, name
    assert graph.get(dg.AssetKey("catalog_source")).is_observable


def test_partitioned_stages_share_the_category_partitions():
    graph = make_definitions().resolve_asset_graph()
    partitioned = {k.to_user_string() for k in graph.materializable_asset_keys if graph.get(k).partitions_def}
    assert partitioned == {"products", "llm_relations", "product_embeddings", "product_duplicates",
                           "resolved_relations", "concepts", "interpreted_relations",
                           "validated_relations", "rejected_relations", "product_clusters", "cluster_knowledge",
                           "knowledge_vectors"}
    for name in partitioned:
        assert graph.get(dg.AssetKey(name)).partitions_def.name == CATEGORY_PARTITIONS_NAME


def test_blocking_suite_checks_exist():
    defs = make_definitions()
    checks = {key.name: key for key in defs.resolve_asset_graph().asset_check_keys}
    assert set(checks) == {"llm_relations_suite", "resolved_relations_suite", "validated_relations_suite",
                           "pkg_edges_suite"}
    from pkg_assets.defs.validation.checks import SUITE_CHECKS

    for check in SUITE_CHECKS:
        for spec in check.check_specs:
            assert spec.blocking, spec.name


def test_llm_assets_use_the_llm_pool_and_prompt_code_versions():
    graph = make_definitions().resolve_asset_graph()
    for name in ("llm_relations", "cluster_knowledge"):
        node = graph.get(dg.AssetKey(name))
        assert node.pools == {"llm"}
        assert node.code_version and len(node.code_version) == 16


def test_schedule_yields_one_run_per_registered_category():
    defs = make_definitions()
    schedule = defs.resolve_schedule_def("nightly_category_rebuild")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(CATEGORY_PARTITIONS_NAME, ["Baby", "Pets"])
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 11, 22, 1),
                                            repository_def=defs.get_repository_def())
        requests = list(schedule.evaluate_tick(context).run_requests)
    assert sorted(r.partition_key for r in requests) == ["Baby", "Pets"]
    assert {r.job_name or schedule.job_name for r in requests} == {"category_rebuild_job"}


def test_sensor_registers_the_demo_categories():
    defs = make_definitions()
    sensor = defs.resolve_sensor_def("category_sensor")
    with dg.instance_for_test() as instance, \
            dg.build_sensor_context(instance=instance, resources=defs.resources) as context:
        result = sensor(context)
    requests = result.dynamic_partitions_requests
    assert len(requests) == 1 and len(requests[0].partition_keys) == 7
    assert "Flowers & Gifts" in requests[0].partition_keys


def test_dg_loads_the_project_from_pyproject():
    """`dg check defs` / `dg list defs` work on the project ([tool.dg] in pyproject.toml)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    project = Path(__file__).resolve().parents[2]
    dg = Path(sys.executable).with_name("dg")
    checked = subprocess.run([str(dg), "check", "defs"], cwd=project, capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0 and "All definitions loaded successfully" in checked.stdout + checked.stderr
    listed = subprocess.run([str(dg), "list", "defs", "--json"], cwd=project, capture_output=True, text=True, timeout=300)
    assert listed.returncode == 0, listed.stderr
    keys = {asset["asset_key"] for asset in json.loads(listed.stdout)["assets"]}
    assert {"products", "llm_relations", "validated_relations", "pkg_edges", "pkg_snapshot"} <= keys


def test_the_cli_tags_runs_with_the_code_location_dg_dev_and_the_workspace_serve():
    import tomllib

    import yaml

    from pkg_assets import settings

    project = tomllib.loads((settings.PROJECT_DIR / "pyproject.toml").read_text())
    workspace = yaml.safe_load((settings.PROJECT_DIR / "workspace.yaml").read_text())
    assert project["tool"]["dg"]["project"]["code_location_name"] == settings.CODE_LOCATION
    assert workspace["load_from"][0]["python_module"]["location_name"] == settings.CODE_LOCATION
