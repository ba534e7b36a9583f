"""llm_relations through Dagster: a missing answer fails the step with a clear error, keeps
every answer received, and the re-run asks only for what is missing."""

import json

import dagster as dg
import duckdb

from pkg_assets.core.models import FACTORS
from pkg_assets.core.prompts import FACTOR_PROMPTS
from pkg_assets_tests.conftest import _env

ANSWER = json.dumps({"relations": [{"relation": "complement", "tail": "Mug", "tail_kind": "product",
                                    "confidence": 0.8, "rationale": "tea goes in a mug"}]})


def _record(path, product_ids):
    with open(path, "w") as handle:
        for pid in product_ids:
            for factor in FACTORS:
                prompt = FACTOR_PROMPTS[factor]
                handle.write(json.dumps({"prompt": prompt.name, "key": f"{pid}/{factor}",
                                         "prompt_version": prompt.version, "response": ANSWER}) + "\n")


def test_missing_answers_fail_clearly_and_the_rerun_asks_only_for_them(tmp_path):
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
        with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
            return dict(conn.execute("SELECT status, count(*) FROM llm_calls GROUP BY 1").fetchall())

    assert run(["products"]).success
    _record(recordings, ["K1"])
    result = run(["llm_relations"])
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data.error
    assert "6 of 12 LLM calls failed" in str(failure)
    assert "K2" in str(failure) and "PKG_LLM_MODEL" in str(failure)
    assert ledger() == {"ok": 6, "error": 6}

    _record(recordings, ["K1", "K2"])
    result = run(["llm_relations"])
    assert result.success
    metadata = result.asset_materializations_for_node("llm_relations")[0].metadata
    assert metadata["llm_calls_made"].value == 6 and metadata["llm_cache_hits"].value == 6
    assert ledger() == {"ok": 12, "error": 6}
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM llm_relations").fetchall() == [(12,)]  # 2 products x 6 factors
