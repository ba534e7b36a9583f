"""Automation by dependency, not by clock.

- Category partitions rebuild nightly: the `nightly_category_rebuild` schedule (defs/jobs.py)
  asks for one `category_rebuild_job` run per registered category at 01:00 UTC.
- The graph (behaviour mining, the fused tables, the snapshot, evaluation, personalisation)
  republishes when its upstream has updated: each graph asset carries `GRAPH_AUTOMATION`,
  Dagster's `eager` condition, evaluated by `graph_automation_sensor`. It asks for an asset
  once any of its dependencies has a new materialisation, and waits while any dependency
  partition is still queued or running, so the six category runs of a night give one
  republish after the last of them, whenever that is (the fixed 05:00 graph schedule it
  replaces ran whether or not they had finished). A dependency partition that was never
  built holds it back: a graph missing a category is not published.
- `pkg_snapshot` has a freshness policy: not republished for a day and an hour it turns
  yellow, for 30 hours red (a stuck or failing pipeline shows there, not in a user's
  stale recommendations). Dagster evaluates it with `freshness: enabled` in dagster.yaml.
- LLM-bound steps retry with exponential back-off and jitter (`LLM_RETRY`: 3 retries from
  60 s, `PKG_LLM_STEP_RETRIES` / `PKG_LLM_STEP_RETRY_DELAY_S`): a provider outage outlasts
  the per-request retries of the LLM resource. Answers already paid for are
  in the ledger, so a retry asks only what is still missing. Configuration errors (no key,
  refused credentials, a bad setting) raise `Failure(allow_retries=False)` and fail at once.
"""

import os
from datetime import timedelta

import dagster as dg

GRAPH_AUTOMATION = dg.AutomationCondition.eager()

SNAPSHOT_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=30), warn_window=timedelta(hours=25))


def llm_retry_policy() -> dg.RetryPolicy | None:
    """`PKG_LLM_STEP_RETRIES` (default 3) step retries, the first after
    `PKG_LLM_STEP_RETRY_DELAY_S` (default 60) seconds, doubling, with jitter; 0: none (the
    test suite, whose failures are deliberate). Read when the definitions load."""
    retries = int(os.environ.get("PKG_LLM_STEP_RETRIES", "3"))
    if retries <= 0:
        return None
    return dg.RetryPolicy(max_retries=retries, delay=float(os.environ.get("PKG_LLM_STEP_RETRY_DELAY_S", "60")),
                          backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


LLM_RETRY = llm_retry_policy()

GRAPH_ASSET_NAMES = ("behavior_edges", "pkg_nodes", "pkg_edges", "pkg_topk", "pkg_snapshot", "graph_evaluation",
                     "user_preferences", "user_kg_context")

graph_automation_sensor = dg.AutomationConditionSensorDefinition(
    "graph_automation_sensor",
    target=dg.AssetSelection.assets(*GRAPH_ASSET_NAMES),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Republishes the graph when its upstream has updated (GRAPH_AUTOMATION on each graph asset).",
)
