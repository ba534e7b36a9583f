"""Where the catalog comes from, how its files are read, and how it is cut into category partitions.

Every setting has an environment variable (README, "Your own catalog", lists them in one
table); `CatalogResource.from_env` reads them once, so the UI, the CLI and schedules agree.
"""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import dagster as dg
from pydantic import Field

from pkg_assets import settings
from pkg_assets.core import catalog as core_catalog
from pkg_assets.core.code_identity import fingerprint
from pkg_assets.core.readers import ReaderOptions


def _mapping_from_env(variable: str) -> dict[str, str]:
    """PKG_CATALOG_COLUMNS="product_id=asin,title=name" -> {"product_id": "asin", ...}."""
    raw = os.environ.get(variable, "").strip()
    mapping = {}
    for pair in filter(None, (part.strip() for part in raw.split(","))):
        if "=" not in pair:
            raise core_catalog.CatalogError(f"{variable} entry {pair!r} is not ours=theirs")
        ours, theirs = (side.strip() for side in pair.split("=", 1))
        mapping[ours] = theirs
    return mapping


def _names_from_env(variable: str) -> list[str]:
    return [name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()]


def _separator_from_env(variable: str) -> str | None:
    """A separator as typed in a shell: "|", ";", "tab" or "\\t" for a tab."""
    raw = os.environ.get(variable, "")
    if raw == "":
        return None
    return "\t" if raw.strip().lower() in {"tab", "\\t"} else raw


def _number_from_env(variable: str, default: str, kind=int):
    raw = os.environ.get(variable, default).strip()
    try:
        return kind(raw)
    except ValueError:
        raise core_catalog.CatalogError(f"{variable}={raw!r} is not a {kind.__name__}") from None


class CatalogResource(dg.ConfigurableResource):
    """The catalog source: a file or folder in any supported format (see core/catalog.py)."""

    path: str = Field(default=str(settings.DEMO_DIR), description="catalog file or folder")
    format: str = Field(default="auto", description="auto | demo | csv | parquet | amazon-json")
    sep: str | None = Field(default=None, description="CSV separator (default: detected among , ; tab |)")
    encoding: str = Field(default="utf-8", description="text encoding of the catalog file")
    names: list[str] = Field(default_factory=list, description="column names of a header-less catalog file")
    column_map: dict[str, str] = Field(default_factory=dict, description="our column -> your column")
    category_level: int = Field(default=2, description="category path level (1-based) that names a partition")
    category_sep: str = Field(default=">", description="separator of a category path given as text")
    max_categories: int = Field(default=200, description="refuse a catalog cut into more partitions than this")
    max_price: float = Field(default=1_000_000.0, description="prices above this are nulled as out of range")
    interactions_path: str | None = Field(default=None, description="interactions file (default: beside the catalog)")
    interactions_sep: str | None = Field(default=None, description="CSV separator of the interactions file")
    interactions_encoding: str = Field(default="utf-8", description="text encoding of the interactions file")
    interactions_names: list[str] = Field(default_factory=list, description="column names of a header-less interactions file")
    interactions_column_map: dict[str, str] = Field(default_factory=dict, description="our column -> your column")
    ts_format: str = Field(default="auto", description="auto | iso | unix_s | unix_ms | a strftime pattern")

    @classmethod
    def from_env(cls) -> CatalogResource:
        return cls(
            path=settings.catalog_path(),
            format=os.environ.get("PKG_CATALOG_FORMAT", "auto"),
            sep=_separator_from_env("PKG_CATALOG_SEP"),
            encoding=os.environ.get("PKG_CATALOG_ENCODING", "utf-8"),
            names=_names_from_env("PKG_CATALOG_NAMES"),
            column_map=_mapping_from_env("PKG_CATALOG_COLUMNS"),
            category_level=_number_from_env("PKG_CATEGORY_LEVEL", "2"),
            category_sep=os.environ.get("PKG_CATEGORY_SEP", ">") or ">",
            max_categories=_number_from_env("PKG_MAX_CATEGORIES", "200"),
            max_price=_number_from_env("PKG_MAX_PRICE", "1000000", float),
            interactions_path=os.environ.get("PKG_INTERACTIONS_PATH") or None,
            interactions_sep=_separator_from_env("PKG_INTERACTIONS_SEP"),
            interactions_encoding=os.environ.get("PKG_INTERACTIONS_ENCODING", "utf-8"),
            interactions_names=_names_from_env("PKG_INTERACTIONS_NAMES"),
            interactions_column_map=_mapping_from_env("PKG_INTERACTIONS_COLUMNS"),
            ts_format=os.environ.get("PKG_INTERACTIONS_TS_FORMAT", "auto") or "auto",
        )

    def options(self) -> core_catalog.IngestOptions:
        return core_catalog.IngestOptions(
            products=ReaderOptions(sep=self.sep, encoding=self.encoding, names=tuple(self.names)),
            interactions=ReaderOptions(sep=self.interactions_sep, encoding=self.interactions_encoding,
                                       names=tuple(self.interactions_names)),
            column_map=dict(self.column_map),
            interaction_column_map=dict(self.interactions_column_map),
            category_level=self.category_level,
            category_sep=self.category_sep,
            max_categories=self.max_categories,
            max_price=self.max_price,
            ts_format=self.ts_format,
        )

    def result_identity(self) -> dict:
        """The reader settings and the reader code (part of the code version of `products`
        and `interactions`, whose functions reach the readers only through this resource).
        The files themselves are `catalog_source`'s data version: a changed file marks its
        readers stale as new upstream data, a changed setting or reader as new code."""
        return {"format": self.format, **asdict(self.options()),
                "readers": [fingerprint(core_catalog.load_products), fingerprint(core_catalog.load_interactions)]}

    def source(self) -> core_catalog.CatalogSource:
        return core_catalog.resolve_source(self.path, self.format, self.interactions_path)

    def fingerprint(self) -> str:
        source = self.source()
        return core_catalog.file_fingerprint(source.products_path, source.interactions_path)

    def read_products(self) -> core_catalog.ProductsRead:
        """The whole catalog: products, quarantined rows (each with its category), decisions."""
        return core_catalog.load_products(self.source(), self.options())

    def categories(self) -> list[str]:
        read = self.read_products()
        quarantined = set(read.rejected["category"]) - {core_catalog.UNREADABLE_LINES}
        return sorted(set(read.products["category"]) | quarantined)

    def read_interactions(self, known_products: set[str]) -> core_catalog.InteractionsRead:
        return core_catalog.load_interactions(self.source(), known_products, self.options())

    def describe(self) -> str:
        return f"{Path(self.path).name} ({self.format}, level {self.category_level})"
