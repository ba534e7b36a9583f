"""Keep the `category` partitions equal to the catalog's categories: new ones are added, and
ones the catalog no longer has (renamed, emptied) are retired. Their rows leave the warehouse
with the next `products` run (`reconcile_catalog`)."""


import dagster as dg

from pkg_assets.defs.partitions import CATEGORY_PARTITIONS_NAME, category_partitions
from pkg_assets.resources.catalog import CatalogResource


@dg.sensor(
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Adds a `category` partition for each new category in the catalog and retires the "
    "partitions of categories it no longer has.",
)
def category_sensor(context: dg.SensorEvaluationContext, catalog: CatalogResource) -> dg.SensorResult | dg.SkipReason:
    fingerprint = catalog.fingerprint()
    if context.cursor == fingerprint:
        return dg.SkipReason("catalog unchanged since the last evaluation")
    known = set(context.instance.get_dynamic_partitions(CATEGORY_PARTITIONS_NAME))
    current = catalog.categories()
    new = [c for c in current if c not in known]
    gone = sorted(known - set(current))
    requests = [category_partitions.build_add_request(new)] if new else []
    if gone:
        requests.append(category_partitions.build_delete_request(gone))
    context.log.info(f"categories: {len(known)} known, {len(new)} new: {new[:20]}, {len(gone)} retired: {gone[:20]}")
    return dg.SensorResult(dynamic_partitions_requests=requests, cursor=fingerprint)
