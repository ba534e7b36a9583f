"""Register every category found in the catalog as a partition."""


import dagster as dg

from pkg_assets.defs.partitions import CATEGORY_PARTITIONS_NAME, category_partitions
from pkg_assets.resources.catalog import CatalogResource


@dg.sensor(
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a `category` partition for each new category in the catalog.",
)
def category_sensor(context: dg.SensorEvaluationContext, catalog: CatalogResource) -> dg.SensorResult | dg.SkipReason:
    fingerprint = catalog.fingerprint()
    if context.cursor == fingerprint:
        return dg.SkipReason("catalog unchanged since the last evaluation")
    known = set(context.instance.get_dynamic_partitions(CATEGORY_PARTITIONS_NAME))
    new = [c for c in catalog.categories() if c not in known]
    requests = [category_partitions.build_add_request(new)] if new else []
    context.log.info(f"categories: {len(known)} known, {len(new)} new: {new[:20]}")
    return dg.SensorResult(dynamic_partitions_requests=requests, cursor=fingerprint)
