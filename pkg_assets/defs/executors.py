"""Where a run's steps execute, chosen by PKG_EXECUTOR (read when the definitions load, so a
celery worker loading them sees the same choice):

- `in_process` (default): every step in the run's own process. The embedding model and the
  catalog index load once per run; right for one machine and for the demo.
- `multiprocess`: each step in a process of its own, `PKG_EXECUTOR_MAX_CONCURRENT` at once
  (default 2): steps of one run that do not depend on each other overlap.
- `celery`: each step is a task on a Celery queue (`PKG_CELERY_BROKER`, default
  redis://localhost:6379/0; results on `PKG_CELERY_BACKEND`, default the broker), taken by
  `dagster-celery` workers on any machine that shares the Dagster instance, the warehouse
  catalog and its data path (README "Scaling out").

Runs started with `execute_in_process` (pkg-demo, tests) always run in process.
"""

from __future__ import annotations

import os

import dagster as dg

EXECUTORS = ("in_process", "multiprocess", "celery")


def pipeline_executor() -> dg.ExecutorDefinition:
    kind = os.environ.get("PKG_EXECUTOR", "").strip().lower() or "in_process"
    if kind == "in_process":
        return dg.in_process_executor
    if kind == "multiprocess":
        limit = int(os.environ.get("PKG_EXECUTOR_MAX_CONCURRENT", "2"))
        return dg.multiprocess_executor.configured({"max_concurrent": limit}, name="multiprocess")
    if kind == "celery":
        try:
            from dagster_celery import celery_executor
        except ImportError as exc:
            raise ValueError("PKG_EXECUTOR=celery needs dagster-celery: pip install -e '.[distributed]'") from exc
        broker = os.environ.get("PKG_CELERY_BROKER", "").strip() or "redis://localhost:6379/0"
        backend = os.environ.get("PKG_CELERY_BACKEND", "").strip() or broker
        return celery_executor.configured({"broker": broker, "backend": backend}, name="celery")
    raise ValueError(f"PKG_EXECUTOR={kind!r}: choose one of {', '.join(EXECUTORS)}")
