"""Shared fixtures: temporary data folders, and one end-to-end demo run per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Failing LLM steps here are deliberate: no step retries with minutes of back-off (read when
# the definitions load; test_automation checks the production default in a fresh process).
os.environ["PKG_LLM_STEP_RETRIES"] = "0"

import pkg_assets  # noqa: E402,F401  (sets the offline environment defaults first)

PROJECT_DIR = Path(__file__).resolve().parent.parent
SHARED_DATA = PROJECT_DIR.parent / "shared" / "data"
BEAUTY = SHARED_DATA / "amazon-beauty"
GIFTCARDS = SHARED_DATA / "amazon-giftcards"

_PIPELINE_VARS = ("PKG_DATA_DIR", "PKG_CATALOG_PATH", "PKG_CATALOG_FORMAT", "PKG_CATALOG_COLUMNS",
                  "PKG_INTERACTIONS_PATH", "PKG_CATEGORY_LEVEL", "PKG_LLM_MODEL", "PKG_LLM_API_BASE",
                  "PKG_WAREHOUSE_CATALOG", "PKG_WAREHOUSE_DATA", "PKG_DUCKDB_MEMORY_LIMIT",
                  "PKG_DUCKDB_TEMP_DIR", "PKG_EMBEDDER_INT8", "PKG_SNAPSHOT", "PKG_REPLAY_RECORDINGS", "PKG_REPLAY_STRICT", "PKG_SQL_DIR")


@pytest.fixture(autouse=True)
def _isolated_pipeline_env(monkeypatch, tmp_path_factory):
    """No test reads the developer's own configuration or writes into the project."""
    for name in _PIPELINE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PKG_DATA_DIR", str(tmp_path_factory.mktemp("pkg_data")))


def free_port() -> int:
    """A free loopback port for a server a test starts."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL server from Debian's postgresql package (trust auth, loopback
    only): yields a function that creates a fresh database and returns its URL. Skips where
    PostgreSQL is absent."""
    import glob
    import shutil
    import subprocess
    import uuid

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found or shutil.which("psql") is None:
        pytest.skip("PostgreSQL is absent (apt-get install postgresql)")
    import tempfile

    bin_dir = Path(found[-1]).parent
    # Not under pytest's own temporary folder: that one is private to us, and PostgreSQL
    # refuses to run as root, so it runs as the package's own user then.
    root = Path(tempfile.mkdtemp(prefix="pkg-postgres-"))
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(root, "postgres")
    port = free_port()
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(root / "db"), "--auth=trust", "-U", "postgres"],
                   check=True, capture_output=True)
    subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(root / "db"), "-w", "-l", str(root / "log"),
                    "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"], check=True, capture_output=True)

    def new_database() -> str:
        name = f"pkg_{uuid.uuid4().hex[:10]}"
        subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-q", "-c",
                        f"CREATE DATABASE {name}"], check=True, capture_output=True)
        return f"postgres://postgres@127.0.0.1:{port}/{name}"
    try:
        yield new_database
    finally:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(root / "db"), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def launch_job() -> None:
    """`python -c ...launch_job()` JOB CATEGORY: one run of JOB for CATEGORY through the
    configured executor (PKG_EXECUTOR: celery, multiprocess); prints the run's id and status."""
    import json
    import sys

    import dagster as dg

    job_name, category = sys.argv[1], sys.argv[2]
    job = dg.build_reconstructable_job("pkg_assets.definitions", "job_by_name", reconstructable_args=(job_name,))
    with dg.execute_job(job, instance=dg.DagsterInstance.get(), tags={"dagster/partition": category},
                        raise_on_error=False) as result:
        print(json.dumps({"run_id": result.run_id, "success": result.success}), flush=True)


def requires(path: Path):
    return pytest.mark.skipif(not path.exists(), reason=f"{path} is absent (real data lives in ../shared/data)")


class DemoRun:
    """The demo pipeline materialised once in a temporary instance and data folder. The
    instance is on disk (`dagster_home`), so a webserver can show it (test_ui_browser.py)."""

    def __init__(self, root: Path):
        import dagster as dg

        from pkg_assets.cli import run_pipeline
        from pkg_assets.definitions import make_definitions

        self.root = root
        self.dagster_home = root / "dagster_home"
        self.dagster_home.mkdir()
        self.env = {"PKG_DATA_DIR": str(root / "data")}
        with _env(self.env):
            self.instance = dg.DagsterInstance.local_temp(tempdir=str(self.dagster_home))
            self.defs = make_definitions()
            self.figures = run_pipeline(self.instance, self.defs, log=lambda *_: None)
        self.data = root / "data"  # the warehouse (warehouse.sqlite + lake/) and the snapshot
        self.snapshot = root / "data" / "snapshot" / "pkg.duckdb"

    def execute(self, job: str, partition_key: str | None = None, run_config: dict | None = None,
                raise_on_error: bool = True):
        with _env(self.env):
            return self.defs.resolve_job_def(job).execute_in_process(
                instance=self.instance, partition_key=partition_key, run_config=run_config or {},
                raise_on_error=raise_on_error,
            )

    def query(self, sql: str, params=None):
        from pkg_assets.resources.warehouse import open_folder_warehouse

        with open_folder_warehouse(self.data) as conn:
            return conn.execute(sql, params or []).fetchall()


class _env:
    def __init__(self, values: dict):
        self.values, self.saved = values, {}

    def __enter__(self):
        for key, value in self.values.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *exc):
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> DemoRun:
    return DemoRun(tmp_path_factory.mktemp("demo_run"))
