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
    with query_progress(conn, Log(), "behaviour mining", every_s=0.2):
        total = conn.execute("SELECT sum(i * i) FROM range(400000000) t(i)").fetchall()[0][0]
    assert total > 0 and lines, "a statement of about a second must report"
    assert all(re.fullmatch(r"behaviour mining: (\d+%|running) after \d+s", line) for line in lines), lines
    assert any(re.search(r": [1-9]\d?%", line) for line in lines)  # a real estimate, not only "running"
    assert "behaviour mining:" in capsys.readouterr().err

    lines.clear()
    with query_progress(conn, Log(), "quick", every_s=5):
        conn.execute("SELECT 1").fetchall()
    assert lines == []
