"""Automation by dependency: the graph republishes when its upstream has updated, once no
upstream run is still queued or running; `pkg_snapshot` has a freshness policy; LLM steps
retry with back-off, configuration errors never. Evaluated with Dagster's own automation
evaluator (the one `graph_automation_sensor` runs) on materialisations reported to an
instance, so no pipeline has to run."""

from __future__ import annotations

import dagster as dg
import pytest

from pkg_assets.defs.automation import GRAPH_ASSET_NAMES
from pkg_assets.defs.partitions import CATEGORY_PARTITIONS_NAME

CATEGORIES = ["Bath", "Kitchen"]
GRAPH_AFTER_KNOWLEDGE = {"pkg_nodes", "pkg_edges", "pkg_topk", "pkg_snapshot", "graph_evaluation",
                         "user_preferences", "user_kg_context"}


@pytest.fixture
def built(tmp_path):
    """Definitions and an instance where every asset and partition has been materialised once."""
    from pkg_assets.definitions import make_definitions

    defs = make_definitions()
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(CATEGORY_PARTITIONS_NAME, CATEGORIES)
    graph = defs.resolve_asset_graph()
    for key in graph.toposorted_asset_keys:
        if graph.get(key).is_materializable:
            for partition in (CATEGORIES if graph.get(key).is_partitioned else [None]):
                instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition=partition))
    yield defs, instance
    instance.dispose()


class Ticks:
    """Successive evaluations of the automation conditions, as the sensor's ticks."""

    def __init__(self, defs, instance):
        self.defs, self.instance, self.cursor = defs, instance, None

    def __call__(self) -> set[str]:
        result = dg.evaluate_automation_conditions(defs=self.defs, instance=self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        graph = self.defs.resolve_asset_graph()
        return {key.to_user_string() for key in graph.materializable_asset_keys if result.get_num_requested(key)}


def test_every_graph_asset_and_only_those_is_automated(built):
    defs, _ = built
    graph = defs.resolve_asset_graph()
    automated = {k.to_user_string() for k in graph.materializable_asset_keys if graph.get(k).automation_condition}
    assert automated == set(GRAPH_ASSET_NAMES)
    assert {s.name for s in defs.schedules} == {"nightly_category_rebuild"}  # no fixed-hour graph publish
    sensor = defs.resolve_sensor_def("graph_automation_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    nightly = defs.resolve_schedule_def("nightly_category_rebuild")
    assert nightly.cron_schedule == "0 1 * * *" and nightly.default_status == dg.DefaultScheduleStatus.RUNNING


def test_the_graph_republishes_after_a_category_updates_and_not_before_the_last_run_ends(built):
    defs, instance = built
    tick = Ticks(defs, instance)
    assert tick() == set() and tick() == set()  # nothing new: nothing to do

    # Tonight's rebuild: Bath has landed, Kitchen's run is still waiting in the queue.
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="validated_relations", partition="Bath"))
    kitchen = instance.create_run_for_job(defs.resolve_job_def("knowledge_job"),
                                          tags={"dagster/partition": "Kitchen"}, run_config={})
    assert tick() == set()

    instance.report_run_failed(kitchen)  # Kitchen's run ends (failed: the graph goes on with Bath's update)
    assert tick() == GRAPH_AFTER_KNOWLEDGE  # one republish, the whole chain in one request
    assert tick() == set()  # handled: not asked again


def test_new_interactions_rebuild_behaviour_and_everything_after_it(built):
    defs, instance = built
    tick = Ticks(defs, instance)
    tick()
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="interactions"))
    # pkg_nodes comes from products and concepts only: it stays
    assert tick() == set(GRAPH_ASSET_NAMES) - {"pkg_nodes"}


def test_the_snapshot_has_a_freshness_policy(built):
    defs, _ = built
    graph = defs.resolve_asset_graph()
    policy = graph.get(dg.AssetKey("pkg_snapshot")).freshness_policy
    assert policy is not None and policy.fail_window.to_timedelta().total_seconds() == 30 * 3600


def test_llm_steps_retry_with_back_off_in_production(monkeypatch):
    """The definitions as `dg dev` loads them (a fresh process, the suite's no-retry setting
    removed): both LLM-bound assets retry 3 times, exponentially from 60 s, with jitter."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PKG_LLM_STEP_RETRIES"}
    code = ("from pkg_assets.definitions import defs\n"
            "for name in ('llm_relations', 'cluster_knowledge', 'resolved_relations'):\n"
            "    p = defs.resolve_assets_def(name).op.retry_policy\n"
            "    print(name, p and (p.max_retries, p.delay, p.backoff.value, p.jitter.value))\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["llm_relations (3, 60.0, 'EXPONENTIAL', 'PLUS_MINUS')",
                                "cluster_knowledge (3, 60.0, 'EXPONENTIAL', 'PLUS_MINUS')",
                                "resolved_relations None"]


def test_a_configuration_error_fails_once_despite_the_retry_policy(monkeypatch, tmp_path):
    """An asset with the production retry policy asks a model that has no key: the step fails
    once with what to set, never up for retry (`LLMConfigurationError` disallows retries). A
    transient failure under the same policy is retried."""
    import duckdb

    from pkg_assets.core.prompts import FACTOR_PROMPTS, product_prompt_input
    from pkg_assets.defs.automation import llm_retry_policy
    from pkg_assets.resources.llm import LLMRequest, LLMResource
    from pkg_assets.resources.warehouse import ensure_tables

    monkeypatch.setenv("PKG_LLM_STEP_RETRIES", "2")
    monkeypatch.setenv("PKG_LLM_STEP_RETRY_DELAY_S", "0.1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    ledger = str(tmp_path / "ledger.duckdb")
    with duckdb.connect(ledger) as conn:
        ensure_tables(conn)
    product = {"product_id": "P1", "title": "Mug", "brand": "B", "category_path": "Home", "price": 1.0,
               "description": ""}
    request = LLMRequest(FACTOR_PROMPTS["complements"], product_prompt_input(product),
                         {"product": product_prompt_input(product)}, "P1/complements", "Home", "product P1")
    attempts = []

    @dg.asset(retry_policy=llm_retry_policy())
    def asks_without_a_key() -> None:
        attempts.append(1)
        with duckdb.connect(ledger) as conn:
            LLMResource(model="openai/gpt-4o-mini").ask(conn, [request])

    @dg.asset(retry_policy=llm_retry_policy())
    def meets_an_outage() -> None:
        attempts.append(2)
        raise dg.Failure("3 of 4 LLM calls failed (HTTP 503)")

    for asset, expected in ((asks_without_a_key, [1]), (meets_an_outage, [2, 2, 2])):
        attempts.clear()
        result = dg.materialize([asset], raise_on_error=False)
        events = [e.event_type_value for e in result.all_events]
        assert not result.success and attempts == expected
        assert ("STEP_UP_FOR_RETRY" in events) == (len(expected) > 1)
    failure = next(e for e in dg.materialize([asks_without_a_key], raise_on_error=False).all_events
                   if e.event_type_value == "STEP_FAILURE")
    assert "OPENAI_API_KEY" in failure.event_specific_data.error.message
