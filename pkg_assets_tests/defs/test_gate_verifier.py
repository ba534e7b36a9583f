"""The gate's optional verifier pass: borderline edges are asked about through the ledger."""


import dagster as dg

from pkg_assets_tests.conftest import _env
from pkg_assets.fake_llm import FakeLLMServer
from pkg_assets.resources.warehouse import copy_warehouse, open_folder_warehouse

QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
GATE = {dg.AssetKey("validated_relations"), dg.AssetKey("rejected_relations")}


def _gate_run(data_dir, server, category: str, **gate_config):
    from pkg_assets.definitions import make_definitions

    env = {"PKG_DATA_DIR": str(data_dir), "PKG_LLM_MODEL": "openai/fake-model", "PKG_LLM_API_BASE": server.base_url}
    with _env(env):
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions("category", [category])
        job = make_definitions().resolve_implicit_global_asset_job_def().get_subset(asset_selection=GATE)
        return job.execute_in_process(
            instance=instance, partition_key=category,
            run_config={**QUIET, "ops": {"hallucination_gate": {"config": gate_config}}})


def _edges(data_dir, category):
    with open_folder_warehouse(data_dir) as conn:
        return conn.execute("""
            SELECT head_id, tail_id, reasons, sig_verifier FROM validated_relations WHERE category = ?
            UNION ALL
            SELECT head_id, tail_id, reasons, sig_verifier FROM rejected_relations WHERE category = ?
        """, [category, category]).df()


def test_the_verifier_judges_only_borderline_edges_and_its_no_rejects(demo_run, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    copy_warehouse(demo_run.data, data_dir)
    category = "Flowers & Gifts"
    with FakeLLMServer() as server:
        # Strict evidence (nothing in the demo has 50 shared users): every product edge the
        # embedding, neighbourhood or a second proposal does not support is borderline.
        strict = {"min_behavior_support": 50, "verifier": True}
        first = _gate_run(data_dir, server, category, **strict)
        assert first.success
        calls_after_first = server.stats["requests"]
        edges = _edges(data_dir, category)
        asked = edges[edges["sig_verifier"].notna()]
        assert len(asked) > 5 and calls_after_first >= len(asked)
        said_no = asked[asked["sig_verifier"] == "no"]
        said_yes = asked[asked["sig_verifier"] == "yes"]
        assert len(said_no) and len(said_yes)
        assert said_no["reasons"].str.contains("verifier").all()  # "no" rejects
        assert (said_yes["reasons"] == "").all()  # "yes" is the evidence they lacked
        materialisation = next(e for e in first.get_asset_materialization_events()
                               if e.asset_key == dg.AssetKey("validated_relations")).materialization
        assert materialisation.metadata["verifier_asked"].value == len(asked)

        # Re-running asks nothing new: the answers are in the ledger.
        assert _gate_run(data_dir, server, category, **strict).success
        assert server.stats["requests"] == calls_after_first
    with open_folder_warehouse(data_dir) as conn:
        prompts = conn.execute("SELECT DISTINCT prompt_version FROM llm_calls WHERE prompt_version LIKE 'verify%'").fetchall()
    assert len(prompts) == 1
