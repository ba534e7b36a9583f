"""Ingest all of ../shared/data/amazon-beauty (12,084 products, 198,300 interactions).

    .venv/bin/python benchmarks/ingest.py

Times (1) the readers alone (read + clean + parse + quarantine, every decision counted),
side by side with a plain `pandas.read_csv` of the same two files (no checks at all: the
cost of the accounting), and (2) the Dagster assets: `products` for each of the six
category partitions plus `interactions`, written to a fresh DuckDB warehouse. Ends with
`key: value` lines. Skips when the data is absent.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SHARED_DATA, fresh_pipeline, machine, peak_rss_mb  # noqa: E402
from pkg_assets.resources.warehouse import open_folder_warehouse  # noqa: E402

BEAUTY = SHARED_DATA / "amazon-beauty"


def main() -> int:
    if not BEAUTY.exists():
        print(f"skipped: {BEAUTY} is absent")
        return 0
    import dagster as dg

    from pkg_assets.core import catalog as core_catalog

    started = time.perf_counter()
    source = core_catalog.resolve_source(BEAUTY)
    read = core_catalog.load_products(source)
    products, rejected = read.products, read.rejected
    events = core_catalog.load_interactions(source, set(products["product_id"]))
    kept, dropped = events.kept, events.rejected
    readers_s = time.perf_counter() - started
    import pandas as pd

    started = time.perf_counter()
    pd.read_csv(source.products_path, dtype=str, keep_default_na=False)
    pd.read_csv(source.interactions_path, dtype=str, keep_default_na=False)
    plain_read_s = time.perf_counter() - started

    with fresh_pipeline(PKG_CATALOG_PATH=str(BEAUTY)) as (instance, defs, data):
        categories = defs.resources["catalog"].categories()
        instance.add_dynamic_partitions("category", categories)
        job = defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection={dg.AssetKey("products")})
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        started = time.perf_counter()
        for category in categories:
            assert job.execute_in_process(instance=instance, partition_key=category, run_config=quiet).success
        assert defs.resolve_job_def("interactions_job").execute_in_process(instance=instance, run_config=quiet).success
        assets_s = time.perf_counter() - started
        with open_folder_warehouse(data) as conn:
            counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
                      for t in ("products", "products_rejected", "interactions", "interactions_rejected")}

    print(f"machine: {machine()}")
    print(f"categories: {len(categories)}")
    print(f"readers_s: {readers_s:.2f}")
    print(f"plain_pandas_read_s: {plain_read_s:.2f}")
    print(f"readers_over_plain_read: {readers_s / plain_read_s:.1f}")
    print(f"products_values_cleaned: {int((read.decisions['decision'] == 'cleaned').sum())}")
    print(f"products_values_nulled: {int((read.decisions['decision'] == 'nulled').sum())}")
    print(f"beauty_products: {counts['products']}")
    print(f"beauty_products_rejected: {counts['products_rejected']}")
    print(f"beauty_interactions: {counts['interactions']}")
    print(f"beauty_interactions_rejected: {counts['interactions_rejected']}")
    print(f"peak_rss_mb: {peak_rss_mb():.0f}")
    print(f"ingest_beauty_s: {assets_s:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
