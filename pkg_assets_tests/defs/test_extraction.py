"""llm_relations through Dagster: prompts no configured model can answer are reported, never
fail the partition, and the re-run asks only for them; a budget extracts the products with
most interactions first; with no model at all the step materialises empty and says why."""

import json

import dagster as dg

from pkg_assets.core.models import FACTORS
from pkg_assets.core.prompts import FACTOR_PROMPTS
from pkg_assets_tests.conftest import _env
from pkg_assets.resources.warehouse import open_folder_warehouse

ANSWER = json.dumps({"relations": [{"relation": "complement", "tail": "Mug", "tail_kind": "product",
                                    "confidence": 0.8, "rationale": "tea goes in a mug"}]})


def _record(path, product_ids):
    with open(path, "w") as handle:
        for pid in product_ids:
            for factor in FACTORS:
                prompt = FACTOR_PROMPTS[factor]
                handle.write(json.dumps({"prompt": prompt.name, "key": f"{pid}/{factor}",
                                         "prompt_version": prompt.version, "response": ANSWER}) + "\n")


def test_missing_answers_are_reported_and_the_rerun_asks_only_for_them(tmp_path):
    from pkg_assets.definitions import make_definitions

    catalog = tmp_path / "shop.csv"
    catalog.write_text("product_id,title,category_path\nK1,Kettle,Home > Kitchen\nK2,Mug,Home > Kitchen\n")
    recordings = tmp_path / "recordings.jsonl"
    env = {"PKG_CATALOG_PATH": str(catalog), "PKG_DATA_DIR": str(tmp_path / "data"),
           "PKG_REPLAY_RECORDINGS": str(recordings)}
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("category", ["Kitchen"])
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}

    def run(assets):
        with _env(env):
            defs = make_definitions()
            job = defs.resolve_implicit_global_asset_job_def().get_subset(
                asset_selection={dg.AssetKey(a) for a in assets})
            return job.execute_in_process(instance=instance, partition_key="Kitchen", run_config=quiet,
                                          raise_on_error=False)

    def ledger():
        with open_folder_warehouse(tmp_path / "data") as conn:
            return dict(conn.execute("SELECT status, count(*) FROM llm_calls GROUP BY 1").fetchall())

    assert run(["products"]).success
    _record(recordings, ["K1"])
    result = run(["llm_relations"])
    assert result.success  # the budget case: what has answers is extracted, the rest is reported
    metadata = result.asset_materializations_for_node("llm_relations")[0].metadata
    assert metadata["llm_missing"].value == 6 and metadata["products_answered"].value == 1
    assert "PKG_LLM_MODEL" in metadata["llm_missing_reason"].value
    assert "K2" in metadata["llm_missing_examples"].value
    assert ledger() == {"ok": 6}
    with open_folder_warehouse(tmp_path / "data") as conn:
        assert conn.execute("SELECT DISTINCT head_id FROM llm_relations").fetchall() == [("K1",)]

    _record(recordings, ["K1", "K2"])
    result = run(["llm_relations"])
    assert result.success
    metadata = result.asset_materializations_for_node("llm_relations")[0].metadata
    assert metadata["llm_calls_made"].value == 6 and metadata["llm_cache_hits"].value == 6
    assert ledger() == {"ok": 12}
    with open_folder_warehouse(tmp_path / "data") as conn:
        assert conn.execute("SELECT count(*) FROM llm_relations").fetchall() == [(12,)]  # 2 products x 6 factors


def _shop(tmp_path, model: str | None = None):
    catalog = tmp_path / "shop"
    catalog.mkdir()
    (catalog / "products.csv").write_text(
        "product_id,title,category_path\nK1,Kettle,Home > Kitchen\nK2,Mug,Home > Kitchen\nK3,Tea Pot,Home > Kitchen\n")
    # K3 is the most bought, then K2: with a budget of two, K3 and K2 are extracted.
    events = ["user_id,product_id,position"] + [f"u{u},K3,0" for u in range(5)] + [f"u{u},K2,1" for u in range(3)]
    (catalog / "interactions.csv").write_text("\n".join(events + ["u9,K1,0"]) + "\n")
    recordings = tmp_path / "recordings.jsonl"
    _record(recordings, ["K1", "K2", "K3"])
    env = {"PKG_CATALOG_PATH": str(catalog), "PKG_DATA_DIR": str(tmp_path / "data"),
           "PKG_REPLAY_RECORDINGS": str(recordings)}
    if model:
        env["PKG_LLM_MODEL"] = model
    return env


def _materialise(env, assets, run_config=None):
    from pkg_assets.definitions import make_definitions

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("category", ["Kitchen"])
    config = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}, **(run_config or {})}
    with _env(env):
        defs = make_definitions()
        assert defs.resolve_job_def("interactions_job").execute_in_process(instance=instance, run_config={
            "loggers": config["loggers"]}).success
        job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={dg.AssetKey(a) for a in assets})
        return job.execute_in_process(instance=instance, partition_key="Kitchen", run_config=config)


def test_a_budget_extracts_the_products_with_most_interactions_first(tmp_path):
    env = _shop(tmp_path)
    result = _materialise(env, ["products", "llm_relations"], {"ops": {"llm_relations": {"config": {"max_products": 2}}}})
    metadata = result.asset_materializations_for_node("llm_relations")[0].metadata
    assert metadata["products"].value == 2 and metadata["products_over_budget"].value == 1
    with open_folder_warehouse(tmp_path / "data") as conn:
        assert conn.execute("SELECT DISTINCT head_id FROM llm_relations ORDER BY 1").fetchall() == [("K2",), ("K3",)]
    by_id = _materialise({**env, "PKG_LLM_MAX_PRODUCTS": "1"}, ["llm_relations"],
                         {"ops": {"llm_relations": {"config": {"priority": "catalog"}}}})
    assert by_id.asset_materializations_for_node("llm_relations")[0].metadata["products_answered"].value == 1
    with open_folder_warehouse(tmp_path / "data") as conn:
        assert conn.execute("SELECT DISTINCT head_id FROM llm_relations").fetchall() == [("K1",)]


def test_with_no_model_the_knowledge_steps_materialise_empty_and_say_how_to_configure_one(tmp_path):
    from pkg_assets.definitions import make_definitions

    env = _shop(tmp_path, model="none")
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("category", ["Kitchen"])
    quiet = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    with _env(env):
        defs = make_definitions()
        for job, partition in (("catalog_job", "Kitchen"), ("interactions_job", None), ("knowledge_job", "Kitchen")):
            result = defs.resolve_job_def(job).execute_in_process(instance=instance, partition_key=partition,
                                                                  run_config=quiet)
            assert result.success, job
    metadata = result.asset_materializations_for_node("llm_relations")[0].metadata
    assert metadata["dagster/row_count"].value == 0 and metadata["llm_missing"].value == 18
    assert "PKG_LLM_MODEL=none" in metadata["llm_missing_reason"].value
    assert result.asset_materializations_for_node("cluster_knowledge")[0].metadata["llm_missing"].value >= 1
