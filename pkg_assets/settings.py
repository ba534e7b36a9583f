"""Where things live. Every path can be moved with an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
DEMO_DIR = PACKAGE_DIR / "data" / "demo"
DEMO_RECORDINGS = DEMO_DIR / "recordings.jsonl"
DEFAULT_MODEL = "replay/demo"
# The code location's name in `dg dev` ([tool.dg.project] in pyproject.toml) and in
# workspace.yaml; runs the CLI makes carry it, so the UI lists them under their jobs.
CODE_LOCATION = "pkg_assets"


def sql_dir() -> Path:
    return Path(os.environ.get("PKG_SQL_DIR", PROJECT_DIR / "sql"))


def expectations_dir() -> Path:
    return Path(os.environ.get("PKG_EXPECTATIONS_DIR", PROJECT_DIR / "expectations"))


def data_dir() -> Path:
    return Path(os.environ.get("PKG_DATA_DIR", PROJECT_DIR / ".pkg_data")).expanduser()


def warehouse_path() -> Path:
    return Path(os.environ.get("PKG_WAREHOUSE", data_dir() / "warehouse.duckdb")).expanduser()


def snapshot_path() -> Path:
    return Path(os.environ.get("PKG_SNAPSHOT", data_dir() / "snapshot" / "pkg.duckdb")).expanduser()


def catalog_path() -> str:
    return os.environ.get("PKG_CATALOG_PATH", str(DEMO_DIR))
