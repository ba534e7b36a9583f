"""Where the catalog comes from, and how it is cut into category partitions."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pandas as pd
from pydantic import Field

from pkg_assets import settings
from pkg_assets.core import catalog as core_catalog


def _column_map_from_env() -> dict[str, str]:
    """PKG_CATALOG_COLUMNS="product_id=asin,title=name" -> {"product_id": "asin", ...}."""
    raw = os.environ.get("PKG_CATALOG_COLUMNS", "").strip()
    mapping = {}
    for pair in filter(None, (part.strip() for part in raw.split(","))):
        if "=" not in pair:
            raise core_catalog.CatalogError(f"PKG_CATALOG_COLUMNS entry {pair!r} is not ours=theirs")
        ours, theirs = (side.strip() for side in pair.split("=", 1))
        mapping[ours] = theirs
    return mapping


class CatalogResource(dg.ConfigurableResource):
    """The catalog source: a file or folder in any supported format (see core/catalog.py)."""

    path: str = Field(default=str(settings.DEMO_DIR), description="catalog file or folder")
    format: str = Field(default="auto", description="auto | demo | csv | parquet | amazon-json")
    interactions_path: str | None = Field(default=None, description="interactions file (default: beside the catalog)")
    category_level: int = Field(default=2, description="category path level (1-based) that names a partition")
    column_map: dict[str, str] = Field(default_factory=dict, description="our column -> your column")

    @classmethod
    def from_env(cls) -> CatalogResource:
        return cls(
            path=settings.catalog_path(),
            format=os.environ.get("PKG_CATALOG_FORMAT", "auto"),
            interactions_path=os.environ.get("PKG_INTERACTIONS_PATH") or None,
            category_level=int(os.environ.get("PKG_CATEGORY_LEVEL", "2")),
            column_map=_column_map_from_env(),
        )

    def source(self) -> core_catalog.CatalogSource:
        return core_catalog.resolve_source(self.path, self.format, self.interactions_path)

    def fingerprint(self) -> str:
        source = self.source()
        return core_catalog.file_fingerprint(source.products_path, source.interactions_path)

    def read_products(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(products, rejected) for the whole catalog; each rejected row carries its category."""
        source = self.source()
        raw = core_catalog.read_products_raw(source, self.column_map)
        products, rejected = core_catalog.normalise_products(raw, self.category_level, str(source.products_path))
        rejected["category"] = [
            core_catalog.category_at_level(
                core_catalog.clean_text(raw.iloc[row - 1].get("category_path")), self.category_level
            )
            for row in rejected["source_row"]
        ]
        return products, rejected

    def categories(self) -> list[str]:
        products, rejected = self.read_products()
        return sorted(set(products["category"]) | set(rejected["category"]))

    def read_interactions(self, known_products: set[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
        return core_catalog.split_interactions(core_catalog.read_interactions(self.source()), known_products)

    def describe(self) -> str:
        return f"{Path(self.path).name} ({self.format}, level {self.category_level})"
