"""A crashed run gives back its pool slot: the project's dagster.yaml, with Dagster's own run
monitoring, frees the slots of a run that died holding them."""

import logging
import shutil
from datetime import timedelta

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._daemon.monitoring import concurrency as slot_monitoring

from pkg_assets_tests.conftest import PROJECT_DIR


class _Workspace:
    def __init__(self, instance):
        self.instance = instance


def test_a_run_that_died_holding_the_llm_slot_gives_it_back(tmp_path, monkeypatch):
    shutil.copy(PROJECT_DIR / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.run_monitoring_enabled
        instance.event_log_storage.set_concurrency_slots("llm", 1)

        @dg.op
        def noop():
            return None

        @dg.job
        def llm_job():
            noop()

        dead = instance.create_run_for_job(llm_job)
        instance.handle_new_event(dg.EventLogEntry(
            error_info=None, level=logging.INFO, user_message="", run_id=dead.run_id, timestamp=0.0,
            dagster_event=dg.DagsterEvent(dg.DagsterEventType.RUN_START.value, job_name=dead.job_name)))
        claim = instance.event_log_storage.claim_concurrency_slot("llm", dead.run_id, "llm_relations")
        assert claim.is_claimed
        # The worker was killed -9: the code server reports the run failed, the slot stays claimed.
        instance.report_run_failed(instance.get_run_by_id(dead.run_id), "worker exited with signal 9")
        assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
        next_run = instance.create_run_for_job(llm_job).run_id
        waiting = instance.event_log_storage.claim_concurrency_slot("llm", next_run, "llm_relations")
        assert not waiting.is_claimed  # "blocked by limit for pool llm"

        later = slot_monitoring.get_current_datetime() + timedelta(minutes=2)
        monkeypatch.setattr(slot_monitoring, "get_current_datetime", lambda: later)
        list(slot_monitoring.execute_concurrency_slots_iteration(_Workspace(instance), logging.getLogger("test")))
        assert instance.event_log_storage.claim_concurrency_slot("llm", next_run, "llm_relations").is_claimed
