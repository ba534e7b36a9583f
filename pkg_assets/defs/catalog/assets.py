"""Catalog ingest: the source file, normalised products per category, interactions."""


from datetime import datetime, timezone

import dagster as dg

from pkg_assets.core.catalog import UNREADABLE_LINES
from pkg_assets.core.product_type import assign_product_types
from pkg_assets.defs.metadata import counts_table, decision_counts, parse_decisions, preview
from pkg_assets.defs.partitions import category_partitions
from pkg_assets.resources.catalog import CatalogResource
from pkg_assets.resources.warehouse import (
    WarehouseCatalogMismatch, WarehouseResource, claim_catalog, reconcile_catalog, replace_partition, replace_requested,
    replace_table,
)


def _now():
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _claim(conn, catalog: CatalogResource) -> str | None:
    try:
        return claim_catalog(conn, catalog.path, replace=replace_requested())
    except WarehouseCatalogMismatch as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


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
    read = catalog.read_products()
    # Types learn the whole catalog's category leaves, so every partition types alike.
    mine = assign_product_types(read.products)
    mine = mine[mine["category"] == category].copy()
    mine["ingested_at"] = _now()
    rejected = read.rejected[read.rejected["category"] == category].copy()
    rejected["rejected_at"] = _now()
    unreadable = read.rejected[read.rejected["category"] == UNREADABLE_LINES].copy()
    unreadable["rejected_at"] = _now()
    decisions = read.decisions[read.decisions["category"] == category]
    with warehouse.connect() as conn:
        switched = _claim(conn, catalog)
        replace_partition(conn, "products", mine, category)
        replace_partition(conn, "products_rejected", rejected, category)
        # Lines that could not be read belong to no category; every partition's run rewrites them.
        replace_partition(conn, "products_rejected", unreadable, UNREADABLE_LINES)
        # Categories and products that left the catalog (or moved) leave every table now,
        # not when someone remembers to wipe the old partition.
        retired = reconcile_catalog(conn, read.products, set(read.rejected["category"]))
    if switched:
        context.log.warning(f"the warehouse now holds the catalog {catalog.path} (it held {switched}; replaced "
                            "as PKG_REPLACE_WAREHOUSE asked)")
    if retired:
        context.log.info("catalog changes: removed " + ", ".join(f"{n} rows of {t}" for t, n in retired.items())
                         + " (products or categories no longer in the catalog)")
    if len(rejected):
        context.log.warning(f"{len(rejected)} catalog rows of {category!r} quarantined in products_rejected: "
                            + ", ".join(f"{n} {r}" for r, n in
                                        rejected["reason"].str.split(" \\(").str[0].value_counts().head(5).items()))
    if len(rejected) > len(mine):
        context.log.warning(f"most rows of {category!r} are quarantined ({len(rejected)} of {len(rejected) + len(mine)}): "
                            "is the source a scraped dump, or a column mapped wrongly? See products_rejected.raw")
    if len(unreadable):
        context.log.warning(f"{len(unreadable)} unreadable line(s) of the catalog file quarantined in "
                            f"products_rejected (category {UNREADABLE_LINES!r}), e.g. line "
                            f"{unreadable['source_line'].iloc[0]}: {unreadable['reason'].iloc[0]}")
    nulled = decisions[decisions["decision"] == "nulled"]
    if len(nulled):
        context.log.warning(f"{len(nulled)} optional value(s) of {category!r} nulled on read (see parse_flags), "
                            f"e.g. {nulled['field'].iloc[0]}: {nulled['detail'].iloc[0]}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(mine),
        "rejected_rows": len(rejected),
        "unreadable_lines": len(unreadable),
        "values_nulled": len(nulled),
        "parse_decisions": parse_decisions(mine, decisions, ["product_id", "title", "brand", "price",
                                                             "category_path", "description"], len(rejected)),
        "decision_counts": dg.MetadataValue.json(decision_counts(decisions)),
        "rejected_by_reason": counts_table(rejected["reason"].str.split(" \\(").str[0], "reason"),
        "reader": dg.MetadataValue.json(read.facts),
        "rows_retired": dg.MetadataValue.json(retired),
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
    description="User/session x product events ordered per user (by position, else by time, else file "
    "order). Rows with no user, an unknown product or a bad position go to `interactions_rejected` "
    "with a reason; unreadable timestamps are nulled and named in `parse_flags`.",
)
def interactions(context: dg.AssetExecutionContext, catalog: CatalogResource,
                 warehouse: WarehouseResource) -> dg.MaterializeResult:
    known = set(catalog.read_products().products["product_id"])
    read = catalog.read_interactions(known)
    kept, rejected = read.kept, read.rejected
    with warehouse.connect() as conn:
        _claim(conn, catalog)
        replace_table(conn, "interactions", kept)
        replace_table(conn, "interactions_rejected", rejected)
    if len(rejected):
        context.log.warning(f"{len(rejected)} interactions quarantined in interactions_rejected: "
                            + ", ".join(f"{n} {r}" for r, n in rejected["reason"].value_counts().head(5).items()))
    context.log.info(f"interactions read: timestamps {read.facts.get('ts')}, ordered by {read.facts.get('ordering')}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(kept),
        "users": int(kept["user_id"].nunique()),
        "products_with_events": int(kept["product_id"].nunique()),
        "rejected_rows": len(rejected),
        "rejected_by_reason": counts_table(rejected["reason"], "reason"),
        "timestamps": str(read.facts.get("ts")),
        "ordering": str(read.facts.get("ordering")),
        "values_nulled": int((read.decisions["decision"] == "nulled").sum()),
        "parse_decisions": parse_decisions(kept, read.decisions, ["user_id", "product_id", "position", "ts"],
                                           len(rejected)),
        "decision_counts": dg.MetadataValue.json(decision_counts(read.decisions)),
        "reader": dg.MetadataValue.json(read.facts),
    })
