"""The LLM client through litellm's real code path: replay provider, ledger, cache, failures."""

import json

import duckdb
import pytest

from pkg_assets.core.prompts import FACTOR_PROMPTS, product_prompt_input
from pkg_assets.resources.llm import LLMConfigurationError, LLMRequest, LLMResource, mark_invalid
from pkg_assets.resources.warehouse import ensure_tables

PRODUCTS = [{"product_id": f"P{i}", "title": f"Product {i}", "brand": "B", "category_path": "A > B",
             "price": 1.0, "description": ""} for i in range(4)]


def _requests():
    prompt = FACTOR_PROMPTS["complements"]
    return [LLMRequest(prompt, product_prompt_input(p), {"product": product_prompt_input(p)},
                       f"{p['product_id']}/complements", "Test", f"product {p['product_id']}") for p in PRODUCTS]


def _recordings(path, products, response='{"relations": []}'):
    prompt = FACTOR_PROMPTS["complements"]
    with open(path, "w") as handle:
        for p in products:
            handle.write(json.dumps({"prompt": prompt.name, "key": f"{p['product_id']}/complements",
                                     "prompt_version": prompt.version, "response": response}) + "\n")
    return path


@pytest.fixture
def conn():
    connection = duckdb.connect(":memory:")
    ensure_tables(connection)
    yield connection
    connection.close()


def test_prompts_without_a_recording_are_reported_missing_not_asked_and_a_rerun_asks_only_for_them(conn, tmp_path):
    partial = _recordings(tmp_path / "partial.jsonl", PRODUCTS[:3])
    llm = LLMResource(recordings=[str(partial)], num_retries=0)
    results, stats = llm.ask(conn, _requests())
    assert (stats.calls_made, stats.failures, stats.cache_hits, stats.missing) == (3, 0, 0, 1)
    assert [r.request.replay_key for r in results] == ["P0/complements", "P1/complements", "P2/complements"]
    assert stats.missing_examples == ["product P3"] and "PKG_LLM_MODEL" in stats.missing_reason
    assert stats.as_metadata()["llm_missing"] == 1
    ledger = conn.execute("SELECT status, count(*) FROM llm_calls GROUP BY 1 ORDER BY 1").fetchall()
    assert ledger == [("ok", 3)]  # nothing was asked for P3, so nothing is recorded as failed

    complete = _recordings(tmp_path / "complete.jsonl", PRODUCTS)
    llm = LLMResource(recordings=[str(complete)], num_retries=0)
    results, stats = llm.ask(conn, _requests())
    assert (stats.calls_made, stats.cache_hits, stats.failures) == (1, 3, 0)
    assert all(r.status == "ok" for r in results)

    _, stats = llm.ask(conn, _requests())
    assert (stats.calls_made, stats.cache_hits) == (0, 4)
    _, stats = llm.ask(conn, _requests(), force=True)
    assert stats.calls_made == 4


def test_the_ledger_row_holds_request_response_and_usage(conn, tmp_path):
    path = _recordings(tmp_path / "r.jsonl", PRODUCTS)
    results, _ = LLMResource(recordings=[str(path)]).ask(conn, _requests()[:1])
    row = conn.execute("SELECT model, prompt_name, prompt_version, input_hash, request, response, status, "
                       "prompt_tokens, completion_tokens, latency_ms FROM llm_calls").fetchall()[0]
    assert row[0] == "replay/demo" and row[1] == "factor_complements" and row[2] == FACTOR_PROMPTS["complements"].version
    request = json.loads(row[4])
    assert request["messages"][0]["role"] == "system" and request["input"]["product_id"] == "P0"
    assert row[5] == '{"relations": []}' and row[6] == "ok" and row[7] > 0 and row[8] > 0 and row[9] >= 0


def test_invalid_answers_stay_in_the_ledger_and_are_not_asked_again(conn, tmp_path):
    path = _recordings(tmp_path / "r.jsonl", PRODUCTS, response="I think a case and a charger.")
    llm = LLMResource(recordings=[str(path)])
    results, _ = llm.ask(conn, _requests()[:1])
    mark_invalid(conn, results[0].call_id, "not JSON")
    assert conn.execute("SELECT status, error FROM llm_calls").fetchall() == [("invalid", "not JSON")]
    results, stats = llm.ask(conn, _requests()[:1])
    assert stats.cache_hits == 1 and results[0].status == "invalid"


def test_with_no_model_only_the_ledger_answers(conn, tmp_path):
    recorded = _recordings(tmp_path / "all.jsonl", PRODUCTS)
    LLMResource(recordings=[str(recorded)]).ask(conn, _requests()[:2])  # two answers paid for earlier
    results, stats = LLMResource(model="none").ask(conn, _requests())
    assert (stats.calls_made, stats.missing) == (0, 4)  # the ledger is keyed by model: none has no answers
    assert "PKG_LLM_MODEL=none" in stats.missing_reason and results == []


def test_an_unreachable_base_or_a_missing_key_fails_before_any_call_in_one_message(conn, monkeypatch):
    import time

    llm = LLMResource(model="openai/gpt-4o-mini", api_base="http://127.0.0.1:9/v1", num_retries=4, timeout_s=2)
    started = time.perf_counter()
    with pytest.raises(LLMConfigurationError, match=r"PKG_LLM_API_BASE=http://127.0.0.1:9/v1 is not reachable"):
        llm.ask(conn, _requests())
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("PKG_LLM_API_KEY", raising=False)
    with pytest.raises(LLMConfigurationError, match=r"needs an API key and none is set\. Set OPENAI_API_KEY"):
        LLMResource(model="openai/gpt-4o-mini").ask(conn, _requests())
    assert time.perf_counter() - started < 10
    assert conn.execute("SELECT count(*) FROM llm_calls").fetchall() == [(0,)]  # nothing sent, nothing recorded


def test_a_missing_credentials_error_is_never_retried():
    import litellm

    from pkg_assets.resources.llm import _retryable, is_auth_error

    wrapped = litellm.InternalServerError("Missing credentials. Please pass an `api_key`", "openai", "gpt-4o-mini")
    assert is_auth_error(wrapped) and not _retryable(wrapped)
    assert _retryable(litellm.InternalServerError("upstream overloaded", "openai", "gpt-4o-mini"))


def test_group_commits_write_every_row_once_in_few_transactions(tmp_path):
    from pkg_assets.resources.llm import LedgerWriter
    from pkg_assets.resources.warehouse import WarehouseResource

    warehouse = WarehouseResource.in_folder(tmp_path)
    path = _recordings(tmp_path / "r.jsonl", PRODUCTS)
    results, stats = LLMResource(recordings=[str(path)]).ask(warehouse, _requests())
    assert stats.calls_made == 4 and all(r.status == "ok" for r in results)
    with warehouse.connect() as conn:
        rows = conn.execute("SELECT call_id, status, raw_response FROM llm_calls").fetchall()
    assert sorted(r[0] for r in rows) == sorted(r.call_id for r in results)
    assert all(raw and '"choices"' in raw for _, _, raw in rows)  # the provider's whole body, kept

    writer = LedgerWriter(warehouse.connect_briefly, flush_s=0.5)
    ledger_row = LLMResource()._ledger_row(results[0])
    for i in range(1200):
        writer.put({**ledger_row, "call_id": f"bulk{i}"})
    writer.close()
    assert writer.written == 1200 and writer.commits <= 4  # batches of at most 500 rows, not 1,200 commits


def test_a_ledger_that_stays_locked_spills_answers_and_the_next_run_imports_them(conn, tmp_path):
    from contextlib import contextmanager

    from pkg_assets.resources.llm import LedgerWriteError, LedgerWriter, import_spill

    @contextmanager
    def locked():
        raise duckdb.IOException('IO Error: Could not set lock on file "w.duckdb": Conflicting lock is held')
        yield

    path = _recordings(tmp_path / "r.jsonl", PRODUCTS)
    results, _ = LLMResource(recordings=[str(path)]).ask(conn, _requests())
    rows = [LLMResource()._ledger_row(r) for r in results]
    conn.execute("DELETE FROM llm_calls")  # as if these answers had never reached it
    spill = tmp_path / "w.duckdb.llm_unwritten.jsonl"
    writer = LedgerWriter(locked, flush_s=0.01, patience_s=0.2, spill_path=spill)
    for row in rows:
        writer.put(row)
    with pytest.raises(LedgerWriteError, match="saved to"):
        writer.close()
    assert writer.spilled == 4 and len(spill.read_text().splitlines()) == 4

    @contextmanager
    def ledger():
        yield conn

    assert import_spill(ledger, spill) == 4 and not spill.exists()
    assert sorted(c for (c,) in conn.execute("SELECT call_id FROM llm_calls").fetchall()) == sorted(
        r.call_id for r in results)


def test_redaction_covers_key_shapes_and_configured_values():
    from pkg_assets.core.secrets import redact

    text = ("AuthenticationError: Incorrect API key provided: sk-proj-abc123XYZ789. Header: Authorization: "
            "Bearer eyJhbGciOiJIUzI1NiJ9.payload; api_key='my-own-key-value'; token hunter2hunter2")
    clean = redact(text, environ={"PKG_LLM_API_KEY": "hunter2hunter2"})
    for secret in ("sk-proj-abc123XYZ789", "eyJhbGciOiJIUzI1NiJ9", "my-own-key-value", "hunter2hunter2"):
        assert secret not in clean
    assert clean.startswith("AuthenticationError: Incorrect API key provided: [redacted]")
    assert redact("the skill-set of a bearer of news") == "the skill-set of a bearer of news"


def test_a_long_batch_reports_progress_with_rate_and_time_left(conn, tmp_path, monkeypatch, capsys):
    import logging

    recorded = _recordings(tmp_path / "all.jsonl", PRODUCTS)
    lines = []
    log = logging.getLogger("progress-test")
    monkeypatch.setattr(log, "info", lines.append)
    monkeypatch.setenv("PKG_CONSOLE_PROGRESS", "1")
    LLMResource(recordings=[str(recorded)], progress_every_s=0.001, max_in_flight=1).ask(conn, _requests(), log=log)
    progress_lines = [line for line in lines if line.startswith("LLM progress")]
    assert progress_lines and progress_lines[-1].startswith("LLM progress: 4/4 answered, 0 failed, 0 in flight")
    assert "calls/s" in progress_lines[-1]
    assert "LLM progress: 4/4 answered" in capsys.readouterr().err  # and on the console, for the CLI


def test_a_recording_made_for_another_prompt_version_warns_and_strict_mode_refuses_it(conn, tmp_path):
    path = _recordings(tmp_path / "r.jsonl", PRODUCTS)
    lines = path.read_text().splitlines()
    old = json.loads(lines[1]) | {"prompt_version": "factor_complements@0123456789ab"}  # recorded for an older prompt
    path.write_text("\n".join([lines[0], json.dumps(old), *lines[2:]]) + "\n")

    with pytest.raises(LLMConfigurationError, match="PKG_REPLAY_STRICT=1 refuses") as refused:
        LLMResource(recordings=[str(path)], replay_strict=True).ask(conn, _requests())
    assert "product P1: recorded for factor_complements@0123456789ab" in str(refused.value)
    assert conn.execute("SELECT count(*) FROM llm_calls").fetchall() == [(0,)]  # refused before any call

    warnings = []

    class Log:
        def warning(self, message):
            warnings.append(message)

        def info(self, message):
            pass

    results, stats = LLMResource(recordings=[str(path)]).ask(conn, _requests(), log=Log())
    assert all(r.status == "ok" for r in results) and stats.replay_stale == 1
    metadata = stats.as_metadata()
    assert metadata["llm_replay_stale"] == 1 and "product P1" in metadata["llm_replay_stale_examples"].value
    assert any("another version of their prompt" in w and "PKG_REPLAY_STRICT=1" in w for w in warnings)


def test_the_replay_model_is_named_after_its_recordings(monkeypatch, tmp_path):
    assert LLMResource.from_env().model == "replay/demo"
    monkeypatch.setenv("PKG_REPLAY_RECORDINGS", str(tmp_path / "fragrance.jsonl"))
    assert LLMResource.from_env().model == "replay/fragrance"
    monkeypatch.setenv("PKG_REPLAY_STRICT", "1")
    assert LLMResource.from_env().replay_strict
    monkeypatch.setenv("PKG_LLM_MODEL", "openai/gpt-4o-mini")
    assert LLMResource.from_env().model == "openai/gpt-4o-mini"
