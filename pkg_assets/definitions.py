"""The one Definitions object of the code location: every stage's assets, checks, jobs,
schedules, sensors and resources. Resources are configured from environment variables
with working offline defaults (see README)."""


import dagster as dg

from pkg_assets import settings
from pkg_assets.defs.automation import graph_automation_sensor
from pkg_assets.defs.behavior import assets as behavior
from pkg_assets.defs.catalog import assets as catalog
from pkg_assets.defs.catalog.sensors import category_sensor
from pkg_assets.defs.executors import pipeline_executor
from pkg_assets.defs.collective import assets as collective
from pkg_assets.defs.evaluation import assets as evaluation
from pkg_assets.defs.extraction import assets as extraction
from pkg_assets.defs.graph import assets as graph
from pkg_assets.defs.jobs import JOBS, SCHEDULES
from pkg_assets.defs.personalization import assets as personalization
from pkg_assets.defs.resolution import assets as resolution
from pkg_assets.defs.validation import assets as validation
from pkg_assets.defs.validation.checks import SUITE_CHECKS
from pkg_assets.defs.versions import with_code_versions
from pkg_assets.resources.catalog import CatalogResource
from pkg_assets.resources.embedder import EmbedderResource
from pkg_assets.resources.llm import LLMResource
from pkg_assets.resources.warehouse import WarehouseResource

STAGE_MODULES = [catalog, extraction, resolution, validation, collective, behavior, graph, evaluation, personalization]


def make_resources() -> dict:
    return {
        "warehouse": WarehouseResource(catalog=settings.warehouse_catalog(), data_path=settings.warehouse_data_path()),
        "catalog": CatalogResource.from_env(),
        "llm": LLMResource.from_env(),
        "embedder": EmbedderResource.from_env(),
    }


def make_definitions() -> dg.Definitions:
    """Built from the environment at call time (tests point it at temporary folders)."""
    resources = make_resources()
    # Every asset's code version is derived from what it runs (defs/versions.py).
    assets = with_code_versions(dg.load_assets_from_modules(STAGE_MODULES), resources)
    return dg.Definitions(
        assets=assets,
        asset_checks=SUITE_CHECKS,
        jobs=[*JOBS, extraction.estimate_llm_job],
        schedules=SCHEDULES,
        sensors=[category_sensor, graph_automation_sensor],
        resources=resources,
        executor=pipeline_executor(),
    )


defs = make_definitions()


def job_by_name(name: str):
    """A job another process can load by name, so `dg.execute_job` hands its steps to the
    configured executor (multiprocess, dagster-celery workers):
    `dg.build_reconstructable_job("pkg_assets.definitions", "job_by_name", ("category_rebuild_job",))`."""
    return defs.resolve_job_def(name)
