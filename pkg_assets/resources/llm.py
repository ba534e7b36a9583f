"""The LLM client: litellm behind a ledger.

Every call is a row in `llm_calls` before it is anything else: the provider's raw body is
kept before anything indexes into it, and rows are written in group commits a moment after
they arrive (`ledger_flush_s`), before any parsing, so a crash after paying for an answer
loses at most the answers of that moment. A body we can't read (no `choices`, say) is one
`invalid` row, never an exception: siblings are never cancelled. An identical (model,
prompt version, input hash) is answered from the ledger instead of the provider;
`force=True` asks again. Ledger answers are parsed again on every run (`parse_results`):
a row is never trusted as `ok` because it once was.

Calls run concurrently on one asyncio loop: at most `max_in_flight` at once, and under
optional requests-per-minute / tokens-per-minute budgets (aiolimiter's leaky buckets).
Rate limits (429), server errors (5xx), time-outs and connection errors are retried with
exponential back-off and jitter (tenacity); every attempt is counted in the ledger row.
The ledger is written by one writer thread (`LedgerWriter`), off the event loop. Given a
warehouse rather than an open connection, it opens the warehouse only for each group commit,
so no process holds DuckDB's write lock while it waits on the LLM.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
from pydantic import BaseModel, Field

from pkg_assets import settings
from pkg_assets.core.extraction import InvalidAnswer
from pkg_assets.core.prompts import PromptTemplate, input_hash
from pkg_assets.core.secrets import redact
from pkg_assets.resources.progress import duration, progress
from pkg_assets.resources.warehouse import WarehouseResource, is_write_conflict, registered, retry_conflicts

# Assumed answer length when the ledger has no history for a prompt yet (dry-run estimates).
DEFAULT_COMPLETION_TOKENS = 250


@dataclass(frozen=True)
class LLMRequest:
    prompt: PromptTemplate
    prompt_input: dict  # what the cache key hashes: the template's variables
    render_context: dict  # what the template renders (usually the same data, as objects)
    replay_key: str
    partition: str | None = None
    subject: str = ""  # a human name for logs and errors ("product B00X / complements")
    schema: type[BaseModel] | None = None  # the answer's pydantic schema, for structured output
    temperature: float | None = None  # None: the resource's temperature

    @property
    def input_hash(self) -> str:
        return input_hash(self.prompt_input)


@dataclass
class LLMResult:
    request: LLMRequest
    call_id: str
    status: str  # ok | invalid | error
    response: str | None
    error: str | None = None
    cached: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float | None = None
    messages: list | None = None
    attempts: int = 1
    raw_response: str | None = None  # the provider's whole body, as JSON, before anything read it
    fatal: bool = False  # an authentication/permission error: no other request can succeed either


@dataclass
class CallStats:
    requested: int = 0
    cache_hits: int = 0
    calls_made: int = 0
    attempts: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    wall_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    not_sent: int = 0                  # requests left unsent after an authentication error stopped the batch
    missing: int = 0                   # requests no configured model can answer: never asked, not failures
    missing_reason: str = ""
    missing_examples: list[str] = field(default_factory=list)
    fatal: str | None = None           # the authentication/permission error that stopped the batch
    replay_stale: int = 0              # recorded answers replayed although made for another prompt version
    replay_stale_examples: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict:
        def examples(items: list[str]) -> dg.MetadataValue:
            return dg.MetadataValue.md("\n".join(f"- {s}" for s in items[:10]))

        unanswered = {"llm_missing": self.missing}
        if self.missing:
            unanswered.update(llm_missing_reason=self.missing_reason,
                              llm_missing_examples=examples(self.missing_examples))
        if self.replay_stale:
            unanswered.update(llm_replay_stale=self.replay_stale,
                              llm_replay_stale_examples=examples(self.replay_stale_examples))
        return {
            **unanswered,
            "llm_requests": self.requested,
            "llm_calls_made": self.calls_made,
            "llm_cache_hits": self.cache_hits,
            "llm_attempts": self.attempts,
            "llm_failures": self.failures,
            "llm_prompt_tokens": self.prompt_tokens,
            "llm_completion_tokens": self.completion_tokens,
            "llm_cost_usd": round(self.cost_usd, 6),
            "llm_wall_s": round(self.wall_s, 2),
        }

    def raise_if_failed(self, what: str) -> None:
        """Fail the step, keeping the partition's previous rows: every answer received is in
        the ledger already, so the re-run asks only for the calls that failed."""
        if self.failures:
            raise dg.Failure(
                description=f"{self.failures} of {self.requested} {what} failed; every answer received is kept "
                "in llm_calls and a re-run asks only for the missing ones. First errors:\n"
                + "\n".join(self.errors[:10]),
                metadata=self.as_metadata(),
            )


@dataclass
class CallEstimate:
    """What answering a list of requests would take, without calling anything."""

    requested: int
    cached: int
    calls_needed: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None  # None: no price known for the model

    def as_metadata(self) -> dict:
        return {
            "estimate_requests": self.requested,
            "estimate_cached": self.cached,
            "estimate_calls_needed": self.calls_needed,
            "estimate_prompt_tokens": self.prompt_tokens,
            "estimate_completion_tokens": self.completion_tokens,
            "estimate_cost_usd": "unknown price" if self.cost_usd is None else round(self.cost_usd, 4),
        }


_AUTH_MESSAGES = re.compile(
    r"missing credentials|api[_ ]key (client option )?must be set|no api key|invalid[_ ]api[_ ]key|incorrect api key|"
    r"unauthori[sz]ed|permission denied|\b40[13]\b", re.IGNORECASE)


def is_auth_error(exc: BaseException) -> bool:
    """401/403 or a missing key, whatever class litellm wraps it in (it reports a missing key
    as `InternalServerError: Missing credentials`): retrying cannot help, and every other
    request of the batch would fail the same way."""
    import litellm

    auth_types = tuple(getattr(litellm, name) for name in ("AuthenticationError", "PermissionDeniedError")
                       if hasattr(litellm, name))
    if isinstance(exc, auth_types) or getattr(exc, "status_code", None) in (401, 403):
        return True
    return bool(_AUTH_MESSAGES.search(str(exc)[:2000]))


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, _retryable_exceptions()) and not is_auth_error(exc)


def _retryable_exceptions() -> tuple[type[BaseException], ...]:
    import litellm

    names = ("RateLimitError", "InternalServerError", "ServiceUnavailableError", "Timeout", "APIConnectionError",
             "BadGatewayError")
    return tuple(getattr(litellm, name) for name in names if hasattr(litellm, name))


LEDGER_COLUMNS = ("call_id", "model", "prompt_name", "prompt_version", "input_hash", "partition", "subject",
                  "request", "response", "raw_response", "status", "error", "prompt_tokens", "completion_tokens",
                  "cost_usd", "latency_ms", "attempts", "created_at")

LedgerTarget = duckdb.DuckDBPyConnection | Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


def ledger_opener(target) -> Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]:
    """How to reach the ledger for one short transaction. An open connection (tests, a scratch
    warehouse) is used through its own cursor, so the writer thread never shares a connection
    object; a `WarehouseResource` (anything with `connect_briefly`) or a factory opens the
    warehouse each time and closes it after, releasing the write lock."""
    if isinstance(target, duckdb.DuckDBPyConnection):
        @contextmanager
        def cursor() -> Iterator[duckdb.DuckDBPyConnection]:
            handle = target.cursor()
            try:
                yield handle
            finally:
                handle.close()
        return cursor
    return getattr(target, "connect_briefly", target)


class LedgerWriteError(RuntimeError):
    pass


class LedgerWriter:
    """Ledger rows, written in group commits by one background thread.

    Why our own small writer rather than a library: the write must leave the event loop (a
    DuckDB auto-commit costs milliseconds; answers arrive every few), must group rows (one
    commit per batch, not per row), and must open the warehouse only for the commit, so no
    other run waits on our lock while the LLM thinks. A row waits at most `flush_s` for its
    commit: a crash loses only the answers of that moment, and a re-run re-asks only those.
    A commit refused by another writer's lock is retried until `patience_s`; rows are never
    dropped while we wait. If the ledger still refuses them, they go to `spill_path` (JSON
    lines), which the next `ask` imports before anything else.
    """

    _STOP = object()

    def __init__(self, open_ledger: Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]],
                 flush_s: float = 0.25, max_batch: int = 500, patience_s: float = 600.0,
                 spill_path: Path | None = None):
        self._open, self.flush_s, self.max_batch, self.patience_s = open_ledger, flush_s, max_batch, patience_s
        self.spill_path = spill_path
        self.spilled = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self.written = self.commits = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="llm-ledger-writer", daemon=True)
        self._thread.start()

    def put(self, row: dict) -> None:
        self._queue.put(row)

    def close(self) -> None:
        """Commit every row put so far; raise if the ledger could not take them."""
        self._queue.put(self._STOP)
        self._thread.join()
        if self.error is not None:
            where = (f"; {self.spilled} answers were saved to {self.spill_path} and the next run imports them"
                     if self.spilled else "")
            raise LedgerWriteError(f"the LLM ledger could not be written: {self.error}{where}") from self.error

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is self._STOP:
                return
            batch, deadline = [first], time.monotonic() + self.flush_s
            while len(batch) < self.max_batch:
                try:
                    row = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if row is self._STOP:
                    stopping = True
                    break
                batch.append(row)
            try:
                self._commit(batch)
            except BaseException as exc:  # noqa: BLE001 - reported by close(), after every later batch is tried
                self.error = exc
                self._spill(batch)

    def _spill(self, rows: list[dict]) -> None:
        if self.spill_path is None:
            return
        self.spill_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.spill_path, "a", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.spilled += len(rows)

    def _commit(self, rows: list[dict]) -> None:
        frame = pd.DataFrame(rows, columns=list(LEDGER_COLUMNS))
        give_up = time.monotonic() + self.patience_s
        delay = 0.05
        while True:
            try:
                with self._open() as conn:
                    with registered(conn, "_ledger_batch", frame):
                        conn.execute("INSERT INTO llm_calls BY NAME SELECT * FROM _ledger_batch")
                break
            except duckdb.Error as exc:
                # Another writer's commit got in the way (or holds a lock): wait, never drop the rows.
                if time.monotonic() > give_up or not is_write_conflict(exc):
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        self.written += len(rows)
        self.commits += 1


def import_spill(open_ledger, spill_path: Path) -> int:
    """Ledger rows a failed writer saved to `spill_path`: into the ledger, then the file goes.
    A row already in the ledger (same call_id) is not written twice."""
    if not spill_path.exists():
        return 0
    rows = [json.loads(line) for line in spill_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if rows:
        frame = pd.DataFrame(rows, columns=list(LEDGER_COLUMNS))
        frame["created_at"] = pd.to_datetime(frame["created_at"])
        with open_ledger() as conn, registered(conn, "_ledger_spill", frame):
            retry_conflicts(lambda: conn.execute("INSERT INTO llm_calls BY NAME SELECT * FROM _ledger_spill "
                                                 "WHERE call_id NOT IN (SELECT call_id FROM llm_calls)"))
    spill_path.unlink()
    return len(rows)


@functools.lru_cache(maxsize=64)
def supports_response_schema(model: str) -> bool:
    """litellm's answer, once per model: asking it on every call looked the model up in the
    price map each time (a fifth of the client's CPU per call)."""
    import litellm

    return bool(litellm.supports_response_schema(model=model))


def response_cost(response) -> float:
    """The cost litellm already computed for this response (its `response_cost` hidden param);
    priced again only when it has none. 0 for models without a price (local, replay)."""
    import litellm

    hidden = getattr(response, "_hidden_params", None) or {}
    cost = hidden.get("response_cost") if isinstance(hidden, dict) else getattr(hidden, "response_cost", None)
    if cost is None and "response_cost" not in hidden:  # litellm did not price it: try once
        try:
            cost = litellm.completion_cost(completion_response=response)
        except Exception:  # unknown price for local/replay models
            cost = 0.0
    return float(cost or 0.0)


def approx_tokens(messages: list[dict]) -> int:
    """~4 characters per token: cheap enough to run on every request for rate limiting."""
    return sum(len(str(m.get("content", ""))) for m in messages) // 4 + 4 * len(messages)


def replay_model_name(recordings: list[str]) -> str:
    """The offline model is named after what it replays: `replay/demo` for the demo's
    recordings, `replay/fragrance` with PKG_REPLAY_RECORDINGS=.../fragrance.jsonl (so ledgers,
    metadata and code versions say which answers a graph was built from)."""
    if not recordings:
        return settings.DEFAULT_MODEL
    return "replay/" + "+".join(Path(p).name.split(".")[0] for p in recordings)


class LLMConfigurationError(dg.Failure):
    """The model cannot answer at all (no key, refused credentials, unreachable base): the step
    fails at once with what to set, instead of retrying every request."""

    def __init__(self, description: str, metadata: dict | None = None):
        super().__init__(description=description, metadata=metadata or {}, allow_retries=False)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else text


NO_MODEL = "none"  # PKG_LLM_MODEL=none: no LLM; knowledge assets materialise from the ledger only


class LLMResource(dg.ConfigurableResource):
    """Any litellm model (`PKG_LLM_MODEL`), default the offline recordings: `replay/demo`, or
    `replay/<name>` after the files in PKG_REPLAY_RECORDINGS."""

    model: str = Field(default=settings.DEFAULT_MODEL, description="litellm model name")
    api_base: str | None = Field(default=None, description="OpenAI-compatible base URL (vLLM, Ollama, ...)")
    api_key: str | None = Field(default=None, description="key, if not in the provider's usual environment variable")
    temperature: float = 0.0
    max_in_flight: int = Field(default=8, description="concurrent requests")
    requests_per_minute: int | None = Field(default=None, description="request budget (None: unlimited)")
    tokens_per_minute: int | None = Field(default=None, description="prompt+answer token budget (None: unlimited)")
    timeout_s: float = Field(default=60.0, description="per attempt")
    num_retries: int = Field(default=4, description="retries on 429/5xx/time-outs/connection errors")
    retry_initial_s: float = Field(default=1.0, description="first back-off; doubles per retry, with jitter")
    retry_max_s: float = Field(default=30.0, description="longest back-off")
    json_mode: bool = Field(default=True, description="ask for JSON: the schema where supported, else json_object")
    progress_every_s: float = Field(default=10.0, description="how often a batch reports its progress")
    ledger_flush_s: float = Field(
        default=0.25, description="longest wait of an answer before its ledger group commit (a crash loses at most this)")
    recordings: list[str] = Field(
        default_factory=lambda: [str(settings.DEMO_RECORDINGS)],
        description="recorded answers the replay/ provider serves",
    )
    replay_strict: bool = Field(
        default=False, description="refuse recorded answers made for another prompt version (PKG_REPLAY_STRICT=1)")

    def result_identity(self) -> dict:
        """What changes the answers (part of the code version of every asset that asks):
        the model, its sampling and answer format, and for `replay/` the recordings' content.
        Throughput settings (in flight, budgets, time-outs, retries) change no answer."""
        identity = {"model": self.model, "temperature": self.temperature, "json_mode": self.json_mode}
        if self.model.startswith("replay/"):
            from pkg_assets.core.catalog import file_fingerprint

            identity["recordings"] = [file_fingerprint(Path(p)) if Path(p).exists() else f"absent:{Path(p).name}"
                                      for p in self.recordings]
        return identity

    @classmethod
    def from_env(cls) -> LLMResource:
        extra = [p for p in os.environ.get("PKG_REPLAY_RECORDINGS", "").split(os.pathsep) if p]

        def optional_int(name: str) -> int | None:
            value = os.environ.get(name, "").strip()
            return int(value) if value else None

        return cls(
            model=os.environ.get("PKG_LLM_MODEL") or replay_model_name(extra),
            api_base=os.environ.get("PKG_LLM_API_BASE") or None,
            max_in_flight=int(os.environ.get("PKG_LLM_MAX_IN_FLIGHT", "8")),
            requests_per_minute=optional_int("PKG_LLM_RPM"),
            tokens_per_minute=optional_int("PKG_LLM_TPM"),
            timeout_s=float(os.environ.get("PKG_LLM_TIMEOUT_S", "60")),
            num_retries=int(os.environ.get("PKG_LLM_RETRIES", "4")),
            retry_initial_s=float(os.environ.get("PKG_LLM_RETRY_INITIAL_S", "1")),
            ledger_flush_s=float(os.environ.get("PKG_LLM_LEDGER_FLUSH_S", "0.25")),
            recordings=[str(settings.DEMO_RECORDINGS), *extra],
            replay_strict=os.environ.get("PKG_REPLAY_STRICT", "").strip() == "1",
        )

    # ------------------------------------------------------------------ public

    def ask(self, ledger: LedgerTarget, requests: list[LLMRequest], force: bool = False,
            log=None) -> tuple[list[LLMResult], CallStats]:
        """Answer every request, from the ledger where possible. Never raises per call.

        `ledger` is where answers are kept: a `WarehouseResource` (opened only for short
        transactions, so the warehouse is free while the LLM thinks) or an open connection."""
        recorded = self._prepare_provider()
        started = time.perf_counter()
        open_ledger = ledger_opener(ledger)
        spill = Path(f"{ledger.database}.llm_unwritten.jsonl") if hasattr(ledger, "database") else None
        if spill is not None and (imported := import_spill(open_ledger, spill)) and log:
            log.info(f"LLM ledger: imported {imported} answers a failed run had saved to {spill}")
        with (ledger.connect() if isinstance(ledger, WarehouseResource) else open_ledger()) as conn:
            cached = {} if force else self._cached(conn, requests)  # (connect() also makes sure the ledger exists)
        unanswerable = self._unanswerable(requests, cached, recorded)
        askable = [r for i, r in enumerate(requests) if i not in unanswerable]
        stale = self._stale_recordings(askable, cached, recorded)
        if any((r.prompt.version, r.input_hash) not in cached for r in askable):
            self.preflight()  # a missing key or an unreachable base fails now, in one message
        writer = LedgerWriter(open_ledger, flush_s=self.ledger_flush_s, spill_path=spill)
        try:
            results, stats = asyncio.run(self._ask_all(writer, askable, cached, log))
        finally:
            writer.close()  # every answer received is committed (or spilled) before anyone parses it
        stats.requested = len(requests)
        if unanswerable:
            stats.missing = len(unanswerable)
            stats.missing_reason = self.missing_reason()
            stats.missing_examples = [requests[i].subject for i in sorted(unanswerable)[:10]]
            if log:
                why = "no LLM is configured" if not self.configured else f"{self.model} has no recordings for them"
                log.warning(f"{stats.missing} of {len(requests)} prompts have no answer and were not asked ({why}); "
                            "set PKG_LLM_MODEL or PKG_REPLAY_RECORDINGS to extract them (metadata: llm_missing_reason)")
        if stale:
            stats.replay_stale = len(stale)
            stats.replay_stale_examples = stale[:10]
            if log:
                log.warning(f"{len(stale)} recorded answers were made for another version of their prompt and were "
                            "replayed anyway (metadata: llm_replay_stale); re-record them (`pkg-recordings` lists "
                            "them), or set PKG_REPLAY_STRICT=1 to refuse them")
        stats.wall_s = time.perf_counter() - started
        if stats.fatal:
            raise LLMConfigurationError(
                f"{self.model}: the provider refused the credentials ({_first_line(stats.fatal)}); "
                f"{stats.not_sent} requests were not sent. {self._key_advice()}",
                metadata=stats.as_metadata())
        return results, stats

    def preflight(self) -> None:
        """Check the model's configuration before the first call: a key where the provider needs
        one, a reachable base. Raises `LLMConfigurationError` with what to set. (No probe request:
        it would be a paid call outside the ledger; the first authentication error stops the
        batch instead.)"""
        if not self.configured or self.model.startswith("replay/"):
            return
        if self.api_base:
            self._check_reachable(self.api_base)
            return
        needs_key = missing_key_variables(self.model)
        has_key = self.api_key or os.environ.get("PKG_LLM_API_KEY", "").strip() or provider_key_set(self.model)
        if needs_key and not has_key:
            raise LLMConfigurationError(f"{self.model} needs an API key and none is set. {self._key_advice()}")

    def _key_advice(self) -> str:
        import litellm

        names = missing_key_variables(self.model)
        if not names:  # the variable is set but empty, or the key was refused: name it anyway
            try:
                names = [f"{litellm.get_llm_provider(self.model)[1].upper()}_API_KEY"]
            except Exception:  # noqa: BLE001
                names = []
        variable = names[0] if names else "the provider's key variable"
        return (f"Set {variable} (or PKG_LLM_API_KEY), or PKG_LLM_API_BASE for a local server; "
                "PKG_LLM_MODEL=none builds the graph from behaviour only.")

    def _check_reachable(self, base: str) -> None:
        import socket
        from urllib.parse import urlparse

        url = urlparse(base if "://" in base else f"http://{base}")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            with socket.create_connection((url.hostname or "localhost", port), timeout=5):
                return
        except OSError as exc:
            raise LLMConfigurationError(
                f"PKG_LLM_API_BASE={base} is not reachable ({exc.strerror or exc}); start the server or fix "
                "the address (PKG_LLM_MODEL=none builds the graph from behaviour only)") from None

    @property
    def configured(self) -> bool:
        """False for PKG_LLM_MODEL=none: answers come only from the ledger."""
        return self.model.strip().lower() != NO_MODEL

    def _unanswerable(self, requests: list[LLMRequest], cached: dict,
                      recorded: dict[tuple[str, str], dict] | None) -> set[int]:
        """Requests no configured model can answer: with no model, every one the ledger lacks;
        with the replay model, every one it has no recording for. They are reported as missing,
        never sent (a provider error per request would fail the partition and say nothing new)."""
        if self.configured and recorded is None:
            return set()
        recorded = recorded or {}
        return {i for i, r in enumerate(requests)
                if (r.prompt.version, r.input_hash) not in cached and (r.prompt.name, r.replay_key) not in recorded}

    def _stale_recordings(self, askable: list[LLMRequest], cached: dict,
                          recorded: dict[tuple[str, str], dict] | None) -> list[str]:
        """The recordings about to be replayed that were made for another prompt version, as
        `subject: recorded for <version>, now <version>`. With `replay_strict`, refused: the step
        fails before any call (`LLMConfigurationError`, never retried)."""
        if not recorded:
            return []
        stale = []
        for request in askable:
            record = recorded.get((request.prompt.name, request.replay_key))
            if ((request.prompt.version, request.input_hash) not in cached and record is not None
                    and record.get("prompt_version") != request.prompt.version):
                stale.append(f"{request.subject}: recorded for {record.get('prompt_version')}, "
                             f"now {request.prompt.version}")
        if stale and self.replay_strict:
            raise LLMConfigurationError(
                f"{len(stale)} recorded answers were made for another version of their prompt "
                f"(e.g. {stale[0]}) and PKG_REPLAY_STRICT=1 refuses them: re-record them (`pkg-recordings` "
                "lists what a changed prompt needs), or unset PKG_REPLAY_STRICT to replay them with a warning",
                metadata={"llm_replay_stale": len(stale)})
        return stale

    def missing_reason(self) -> str:
        how = ("set PKG_LLM_MODEL to a litellm model (e.g. openai/gpt-4o-mini, ollama/llama3.1) with its key or "
               "PKG_LLM_API_BASE, or add recorded answers with PKG_REPLAY_RECORDINGS (`pkg-recordings` lists them)")
        if not self.configured:
            return f"no LLM is configured (PKG_LLM_MODEL=none); to extract knowledge, {how}"
        return (f"the offline model {self.model} answers only from recordings, and has none for these; "
                f"to extract them, {how}")

    def estimate(self, conn: duckdb.DuckDBPyConnection, requests: list[LLMRequest]) -> CallEstimate:
        """How many calls and tokens answering `requests` needs (the ledger answers the rest)."""
        import litellm

        cached = self._cached(conn, requests)
        needed = [r for r in requests if (r.prompt.version, r.input_hash) not in cached]
        prompt_tokens = sum(approx_tokens(r.prompt.render(**r.render_context)) for r in needed)
        history = dict(conn.execute(
            "SELECT prompt_name, avg(completion_tokens) FROM llm_calls WHERE status = 'ok' AND completion_tokens > 0 "
            "GROUP BY prompt_name"
        ).fetchall())
        completion_tokens = int(sum(history.get(r.prompt.name) or DEFAULT_COMPLETION_TOKENS for r in needed))
        try:
            prompt_cost, completion_cost = litellm.cost_per_token(
                model=self.model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
            cost = float(prompt_cost + completion_cost)
        except Exception:  # litellm knows no price for local, replay or custom models
            cost = None
        return CallEstimate(len(requests), len(requests) - len(needed), len(needed), prompt_tokens,
                            completion_tokens, cost)

    # ------------------------------------------------------------------ internals

    def _prepare_provider(self) -> dict[tuple[str, str], dict] | None:
        """Set litellm up; for the replay model, returns its recordings by (prompt, key)."""
        import litellm

        litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banner per failed call
        if self.model.startswith("replay/"):
            from pkg_assets.resources import replay

            return replay.register([Path(p) for p in self.recordings]).recordings
        return None

    def _cached(self, conn, requests: list[LLMRequest]) -> dict[tuple[str, str], tuple]:
        """(prompt_version, input_hash) -> latest answered ledger row, in one query."""
        if not requests:
            return {}
        keys = pd.DataFrame({"prompt_version": [r.prompt.version for r in requests],
                             "input_hash": [r.input_hash for r in requests]}).drop_duplicates()
        with registered(conn, "_ledger_keys", keys):
            rows = conn.execute(
                """
                SELECT prompt_version, input_hash, arg_max(call_id, created_at), arg_max(status, created_at),
                       arg_max(response, created_at), arg_max(error, created_at)
                FROM llm_calls JOIN _ledger_keys USING (prompt_version, input_hash)
                WHERE model = ? AND status IN ('ok', 'invalid')
                GROUP BY prompt_version, input_hash
                """,
                [self.model],
            ).fetchall()
        return {(r[0], r[1]): r[2:] for r in rows}

    async def _ask_all(self, writer: LedgerWriter, requests: list[LLMRequest], cached: dict, log):
        from aiolimiter import AsyncLimiter

        stats = CallStats(requested=len(requests))
        results: list[LLMResult | None] = [None] * len(requests)
        pending: list[int] = []
        for index, request in enumerate(requests):
            hit = cached.get((request.prompt.version, request.input_hash))
            if hit is None:
                pending.append(index)
            else:
                call_id, status, response, error = hit
                results[index] = LLMResult(request, call_id, status, response, error, cached=True)
                stats.cache_hits += 1
        if log and requests:
            log.info(f"LLM {self.model}: {len(pending)} calls to make, {stats.cache_hits} answered from the ledger")

        semaphore = asyncio.Semaphore(max(1, self.max_in_flight))
        # Budgets refill per second (rate/60 each second) rather than per minute: a per-minute
        # bucket would let a whole minute's requests out in one burst, which providers reject.
        request_budget = (AsyncLimiter(max(1.0, self.requests_per_minute / 60), 1)
                          if self.requests_per_minute else None)
        token_budget = AsyncLimiter(max(1.0, self.tokens_per_minute / 60), 1) if self.tokens_per_minute else None
        done = 0
        in_flight = 0
        api_key = self.api_key or self._fallback_key()  # decided once per batch, not per request

        stopped: list[str] = []  # the first authentication error: nothing more is sent

        async def one(index: int) -> None:
            nonlocal done
            request = requests[index]
            try:
                async with semaphore:
                    if stopped:
                        stats.not_sent += 1
                        return
                    nonlocal in_flight
                    in_flight += 1
                    try:
                        result = await self._call(request, request_budget, token_budget, api_key)
                    finally:
                        in_flight -= 1
            except Exception as exc:  # noqa: BLE001 - one request's bug is one error row, never its siblings' loss
                error = redact(f"{type(exc).__name__}: {exc}", [self.api_key or ""])[:2000]
                result = LLMResult(request, uuid.uuid4().hex, "error", None, error)
            writer.put(self._ledger_row(result))  # the ledger row first, before anyone parses it
            results[index] = result
            stats.calls_made += 1
            stats.attempts += result.attempts
            stats.prompt_tokens += result.prompt_tokens
            stats.completion_tokens += result.completion_tokens
            stats.cost_usd += result.cost_usd
            if result.status == "error":
                stats.failures += 1
                stats.errors.append(f"{result.request.subject}: {result.error}")
                if result.fatal and not stopped:
                    stopped.append(result.error or "authentication failed")
            done += 1

        batch_started = time.perf_counter()

        def progress_line() -> str:
            elapsed = time.perf_counter() - batch_started
            rate = done / elapsed if elapsed > 0 else 0.0
            left = f", ~{duration((len(pending) - done) / rate)} left" if rate > 0 and done < len(pending) else ""
            return (f"LLM progress: {done}/{len(pending)} answered, {stats.failures} failed, {in_flight} in flight, "
                    f"{stats.attempts - (done - stats.failures)} retries so far, {rate:.1f} calls/s{left}")

        async def report_every(seconds: float) -> None:
            while True:
                await asyncio.sleep(seconds)
                progress(log, progress_line())

        reporter = asyncio.create_task(report_every(self.progress_every_s)) if log and pending else None
        # return_exceptions: even an exception `one` did not foresee leaves its siblings running.
        await asyncio.gather(*(one(i) for i in pending), return_exceptions=True)
        if reporter is not None:
            reporter.cancel()
            progress(log, progress_line())
        if stopped:
            stats.fatal = stopped[0]
        return [r for r in results if r is not None], stats

    def _fallback_key(self) -> str | None:
        """PKG_LLM_API_KEY, only when the provider's own variable (OPENAI_API_KEY, ...) is not
        set: the provider's variable wins, as the README says."""
        fallback = os.environ.get("PKG_LLM_API_KEY") or None
        return None if fallback is None or provider_key_set(self.model) else fallback

    def _completion_kwargs(self, request: LLMRequest, messages: list[dict], api_key: str | None = None) -> dict:
        kwargs: dict = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature if request.temperature is None else request.temperature,
            "timeout": self.timeout_s,
            "num_retries": 0,  # retries are ours (tenacity), counted in the ledger
            "max_retries": 0,
            "drop_params": True,  # a provider without JSON mode still answers
            "metadata": {
                "replay_prompt": request.prompt.name,
                "replay_key": request.replay_key,
                "replay_subject": request.subject,
            },
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if api_key:
            kwargs["api_key"] = api_key
        elif self.api_base and self.model.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
            kwargs["api_key"] = "not-needed"  # local OpenAI-compatible servers (vLLM) ignore it; the SDK wants one
        if self.json_mode:
            try:
                structured = request.schema is not None and supports_response_schema(self.model)
            except Exception:
                structured = False
            kwargs["response_format"] = request.schema if structured else {"type": "json_object"}
        return kwargs

    async def _call(self, request: LLMRequest, request_budget, token_budget, api_key: str | None = None) -> LLMResult:
        import litellm
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

        messages = request.prompt.render(**request.render_context)
        kwargs = self._completion_kwargs(request, messages, api_key)
        call_id = uuid.uuid4().hex
        started = time.perf_counter()
        attempts = 0
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.num_retries + 1),
                wait=wait_exponential_jitter(initial=self.retry_initial_s, max=self.retry_max_s),
                retry=retry_if_exception(_retryable),
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    if request_budget is not None:
                        await request_budget.acquire()
                    if token_budget is not None:
                        await token_budget.acquire(min(approx_tokens(messages) + DEFAULT_COMPLETION_TOKENS,
                                                       token_budget.max_rate))
                    response = await litellm.acompletion(**kwargs)
        except Exception as exc:  # every provider failure becomes a ledger row, not a crash
            error = redact(f"{type(exc).__name__}: {exc}", [self.api_key or ""])[:2000]
            return LLMResult(request, call_id, "error", None, error,
                             latency_ms=(time.perf_counter() - started) * 1000, messages=messages,
                             attempts=attempts, fatal=is_auth_error(exc))
        latency_ms = (time.perf_counter() - started) * 1000
        raw = raw_body(response)  # kept before anything indexes into the response
        try:
            content = response.choices[0].message.content
            if content is not None and not isinstance(content, str):
                raise TypeError(f"message content is {type(content).__name__}, not text")
            usage = getattr(response, "usage", None)
            prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
            completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
        except Exception as exc:  # noqa: BLE001 - a 200 whose body we can't read: paid, kept, flagged
            return LLMResult(request, call_id, "invalid", None, f"unreadable response: {type(exc).__name__}: {exc}"[:2000],
                             latency_ms=latency_ms, messages=messages, attempts=attempts, raw_response=raw)
        cost = response_cost(response)
        return LLMResult(
            request, call_id, "ok", content or "",
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost,
            latency_ms=latency_ms,
            messages=messages,
            attempts=attempts,
            raw_response=raw,
        )

    def _ledger_row(self, result: LLMResult) -> dict:
        request = result.request
        return {
            "call_id": result.call_id, "model": self.model, "prompt_name": request.prompt.name,
            "prompt_version": request.prompt.version, "input_hash": request.input_hash,
            "partition": request.partition, "subject": request.subject,
            "request": json.dumps({"messages": result.messages, "input": request.prompt_input,
                                   "temperature": self.temperature if request.temperature is None else request.temperature},
                                  ensure_ascii=False, default=str),
            "response": result.response, "raw_response": result.raw_response, "status": result.status,
            "error": result.error, "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens, "cost_usd": result.cost_usd,
            "latency_ms": result.latency_ms, "attempts": result.attempts,
            "created_at": datetime.now(timezone.utc).replace(tzinfo=None),
        }


def missing_key_variables(model: str) -> list[str]:
    """The provider's key variables that hold no key (an empty variable counts as missing)."""
    import litellm

    empty = {name: value for name, value in os.environ.items()
             if name.endswith(("_API_KEY", "_TOKEN")) and not value.strip()}
    for name in empty:  # litellm counts "" as set; ask without the empty variables (restored at once)
        del os.environ[name]
    try:
        missing = litellm.validate_environment(model=model).get("missing_keys") or []
    except Exception:  # noqa: BLE001 - a model litellm can't place: let the provider answer
        missing = []
    finally:
        os.environ.update(empty)
    return [name for name in missing if name.endswith(("_KEY", "_TOKEN"))]


def provider_key_set(model: str) -> bool:
    """Whether the provider's own key variable (OPENAI_API_KEY, ANTHROPIC_API_KEY, ...) holds a
    key. litellm counts a variable set to "" as set; we don't."""
    import litellm

    try:
        environment = litellm.validate_environment(model=model)
    except Exception:  # noqa: BLE001 - a model litellm can't place: its own variable is unknown
        return False
    if not environment.get("keys_in_environment"):
        return False
    empty = {name: value for name, value in os.environ.items() if name.endswith("_API_KEY") and not value.strip()}
    if not empty:
        return True
    for name in empty:  # ask again without the empty variables (restored at once)
        del os.environ[name]
    try:
        return bool(litellm.validate_environment(model=model).get("keys_in_environment"))
    except Exception:  # noqa: BLE001
        return False
    finally:
        os.environ.update(empty)


def raw_body(response) -> str | None:
    """The provider's whole response as JSON text, whatever its shape (never raises)."""
    for dump in (lambda: response.model_dump_json(), lambda: json.dumps(response.to_dict(), default=str),
                 lambda: json.dumps(response, default=str), lambda: repr(response)):
        try:
            return dump()
        except Exception:  # noqa: BLE001 - try the next, cruder rendering
            continue
    return None


def mark_invalid(conn: duckdb.DuckDBPyConnection, call_id: str, error: str) -> None:
    """An answer that fails its schema stays in the ledger, flagged, with the reason."""
    retry_conflicts(lambda: conn.execute("UPDATE llm_calls SET status = 'invalid', error = ? WHERE call_id = ?",
                                         [error[:2000], call_id]))


@dataclass
class ParsedResults:
    answers: list[tuple[LLMResult, Any]]  # (result, parsed answer) for every answer that parses
    invalid: list[str]  # "subject: reason" for every answer that does not
    rejected: list[tuple[LLMResult, str]] = field(default_factory=list)  # (result, reason) of the same answers


def parse_results(conn: duckdb.DuckDBPyConnection, results: list[LLMResult],
                  parse: Callable[[str | None], Any]) -> ParsedResults:
    """Parse every answered result, fresh or from the ledger: a ledger row is never trusted as
    `ok` because it once was. Any failure (a schema violation, JSON nested past the parser's
    recursion limit, anything the parser raises) marks the row `invalid` with its reason; an
    `invalid` row that parses now (a fixed parser) is `ok` again. Statuses change in one
    short transaction."""
    answers, invalid, rejected, changes = [], [], [], []
    for result in results:
        if result.status == "error":
            continue
        if result.status == "invalid" and result.response is None:  # no text to parse (unreadable body)
            invalid.append(f"{result.request.subject}: {result.error}")
            rejected.append((result, str(result.error)))
            continue
        try:
            answers.append((result, parse(result.response)))
            if result.status == "invalid":
                changes.append((result.call_id, "ok", None))
        except Exception as exc:  # noqa: BLE001 - whatever a parser raises, the row is invalid, not a crash
            reason = str(exc) if isinstance(exc, InvalidAnswer) else f"unparseable: {type(exc).__name__}: {exc}"
            invalid.append(f"{result.request.subject}: {reason[:300]}")
            rejected.append((result, reason[:2000]))
            if result.status != "invalid" or (result.error or "") != reason[:2000]:
                changes.append((result.call_id, "invalid", reason[:2000]))
    if changes:
        frame = pd.DataFrame(changes, columns=["call_id", "status", "error"])
        with registered(conn, "_ledger_status", frame):
            retry_conflicts(lambda: conn.execute("UPDATE llm_calls SET status = s.status, error = s.error "
                                                 "FROM _ledger_status s WHERE llm_calls.call_id = s.call_id"))
    return ParsedResults(answers, invalid, rejected)
