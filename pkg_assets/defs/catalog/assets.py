"""Catalog ingest: the source file, normalised products per category, interactions."""


from datetime import datetime, timezone

import dagster as dg

from pkg_assets.core.product_type import assign_product_types
from pkg_assets.defs.metadata import counts_table, preview
from pkg_assets.defs.partitions import category_partitions
from pkg_assets.resources.catalog import CatalogResource
from pkg_assets.resources.warehouse import WarehouseResource, reconcile_catalog, replace_partition, replace_table


def _now():
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dg.observable_source_asset(
    group_name="catalog",
    description="The raw catalog file(s). Observed: the data version is the files' content hash, "
    "so downstream assets turn stale exactly when the catalog changes.",
    kinds={"file"},
)
def catalog_source(catalog: CatalogResource) -> dg.DataVersion:
    return dg.DataVersion(catalog.fingerprint())


@dg.asset(
    group_name="catalog",
    partitions_def=category_partitions,
    deps=[catalog_source],
    kinds={"duckdb", "pandas"},
    pool="duckdb",
    description="Normalised products of one category (HTML unescaped, prices parsed). Rows that "
    "cannot be products land in `products_rejected` with a reason.",
)
def products(context: dg.AssetExecutionContext, catalog: CatalogResource,
             warehouse: WarehouseResource) -> dg.MaterializeResult:
    category = context.partition_key
    all_products, all_rejected = catalog.read_products()
    # Types learn the whole catalog's category leaves, so every partition types alike.
    mine = assign_product_types(all_products)
    mine = mine[mine["category"] == category].copy()
    mine["ingested_at"] = _now()
    rejected = all_rejected[all_rejected["category"] == category].copy()
    rejected["rejected_at"] = _now()
    with warehouse.connect() as conn:
        replace_partition(conn, "products", mine, category)
        replace_partition(conn, "products_rejected", rejected, category)
        # Categories and products that left the catalog (or moved) leave every table now,
        # not when someone remembers to wipe the old partition.
        retired = reconcile_catalog(conn, all_products, set(all_rejected["category"]))
    if retired:
        context.log.info("catalog changes: removed " + ", ".join(f"{n} rows of {t}" for t, n in retired.items())
                         + " (products or categories no longer in the catalog)")
    if len(rejected):
        context.log.warning(f"{len(rejected)} catalog rows of {category!r} quarantined in products_rejected")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(mine),
        "rejected_rows": len(rejected),
        "rows_retired": dg.MetadataValue.json(retired),
        "rejected_by_reason": counts_table(rejected["reason"].str.split(" \\(").str[0], "reason"),
        "catalog": catalog.describe(),
        "brands": int(mine["brand"].nunique()),
        "missing_prices": int(mine["price"].isna().sum()),
        "product_types": counts_table(mine["product_type"].fillna("(unknown)"), "product_type"),
        "preview": preview(mine, ["product_id", "title", "brand", "price", "category_path"]),
    })


@dg.asset(
    group_name="catalog",
    deps=[catalog_source],
    kinds={"duckdb", "pandas"},
    pool="duckdb",
    description="User/session x product events ordered per user. Rows with no user, an unknown "
    "product or a bad position go to `interactions_rejected` with a reason.",
)
def interactions(context: dg.AssetExecutionContext, catalog: CatalogResource,
                 warehouse: WarehouseResource) -> dg.MaterializeResult:
    all_products, _ = catalog.read_products()
    kept, rejected = catalog.read_interactions(set(all_products["product_id"]))
    with warehouse.connect() as conn:
        replace_table(conn, "interactions", kept)
        replace_table(conn, "interactions_rejected", rejected)
    if len(rejected):
        context.log.warning(f"{len(rejected)} interactions quarantined in interactions_rejected")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(kept),
        "users": int(kept["user_id"].nunique()),
        "products_with_events": int(kept["product_id"].nunique()),
        "rejected_rows": len(rejected),
        "rejected_by_reason": counts_table(rejected["reason"], "reason"),
    })
