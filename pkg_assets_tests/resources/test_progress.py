"""Progress of a long DuckDB statement, from DuckDB's own estimate, in the log and on the
console when the CLI runs the pipeline."""

import re

import duckdb

from pkg_assets.resources.progress import query_progress


def test_a_long_statement_reports_its_progress_and_a_short_one_stays_quiet(monkeypatch, capsys):
    monkeypatch.setenv("PKG_CONSOLE_PROGRESS", "1")
    lines = []

    class Log:
        def info(self, message):
            lines.append(message)

    conn = duckdb.connect()
    # A table scan (DuckDB estimates progress for scans of tables, not of table functions).
    conn.execute("CREATE TABLE events AS SELECT i, i % 1000 AS g FROM range(20000000) t(i)")
    with query_progress(conn, Log(), "behaviour mining", every_s=0.2):
        total = len(conn.execute("SELECT g, sum(i * i), count(DISTINCT i) FROM events GROUP BY g").fetchall())
    assert total > 0 and lines, "a statement of about a second must report"
    assert all(re.fullmatch(r"behaviour mining: (\d+%|running) after \d+s", line) for line in lines), lines
    assert any(re.search(r": [1-9]\d?%", line) for line in lines)  # a real estimate, not only "running"
    assert "behaviour mining:" in capsys.readouterr().err

    lines.clear()
    with query_progress(conn, Log(), "quick", every_s=5):
        conn.execute("SELECT 1").fetchall()
    assert lines == []


def test_a_runs_long_steps_are_said_as_they_end_and_while_they_run():
    import time
    import uuid

    import dagster as dg

    from pkg_assets.resources.progress import watch_steps

    @dg.asset
    def quick() -> None:
        pass

    @dg.asset(deps=[quick])
    def slow() -> None:
        time.sleep(1.6)

    @dg.asset(deps=[slow])
    def broken() -> None:
        raise RuntimeError("no")

    said = []
    instance = dg.DagsterInstance.ephemeral()
    run_id = str(uuid.uuid4())
    with watch_steps(instance, run_id, said.append, every_s=0.5, poll_s=0.1, quiet_below_s=1.0):
        job = dg.Definitions(assets=[quick, slow, broken], jobs=[dg.define_asset_job("all")]).resolve_job_def("all")
        job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False)
    assert any(re.fullmatch(r"    slow: running for \ds", line) for line in said), said
    assert any(re.fullmatch(r"    slow: done in 1\.\ds", line) for line in said), said
    assert any(re.fullmatch(r"    broken: FAILED in \d\.\ds", line) for line in said), said
    assert not any(line.startswith("    quick:") for line in said)  # quick steps stay quiet
