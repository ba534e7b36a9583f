"""The LLM client: litellm behind a ledger.

Every call is a row in `llm_calls` before it is anything else: the raw response is
written the moment it arrives, before any parsing, so a crash after paying for an answer
never loses it. An identical (model, prompt version, input hash) is answered from the
ledger instead of the provider; `force=True` asks again.

Calls run concurrently on one asyncio loop (bounded by `max_in_flight`), with litellm's
own retries for 429/5xx/timeouts. The ledger is written from that same loop thread, so
the single DuckDB connection is never used from two threads.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from pkg_assets import settings
from pkg_assets.core.prompts import PromptTemplate, input_hash
from pkg_assets.resources.warehouse import first_row


@dataclass(frozen=True)
class LLMRequest:
    prompt: PromptTemplate
    prompt_input: dict  # what the cache key hashes: the template's variables
    render_context: dict  # what the template renders (usually the same data, as objects)
    replay_key: str
    partition: str | None = None
    subject: str = ""  # a human name for logs and errors ("product B00X / complements")


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


@dataclass
class CallStats:
    requested: int = 0
    cache_hits: int = 0
    calls_made: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    errors: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict:
        return {
            "llm_requests": self.requested,
            "llm_calls_made": self.calls_made,
            "llm_cache_hits": self.cache_hits,
            "llm_failures": self.failures,
            "llm_prompt_tokens": self.prompt_tokens,
            "llm_completion_tokens": self.completion_tokens,
            "llm_cost_usd": round(self.cost_usd, 6),
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


class LLMResource(dg.ConfigurableResource):
    """Any litellm model (`PKG_LLM_MODEL`), default the offline `replay/demo` recordings."""

    model: str = Field(default=settings.DEFAULT_MODEL, description="litellm model name")
    api_base: str | None = Field(default=None, description="OpenAI-compatible base URL (vLLM, Ollama, ...)")
    temperature: float = 0.0
    max_in_flight: int = Field(default=8, description="concurrent requests")
    timeout_s: float = 60.0
    num_retries: int = Field(default=3, description="litellm retries on 429/5xx/timeouts")
    json_mode: bool = Field(default=True, description="ask for response_format=json_object")
    recordings: list[str] = Field(
        default_factory=lambda: [str(settings.DEMO_RECORDINGS)],
        description="recorded answers the replay/ provider serves",
    )

    @classmethod
    def from_env(cls) -> LLMResource:
        extra = [p for p in os.environ.get("PKG_REPLAY_RECORDINGS", "").split(os.pathsep) if p]
        return cls(
            model=os.environ.get("PKG_LLM_MODEL", settings.DEFAULT_MODEL),
            api_base=os.environ.get("PKG_LLM_API_BASE") or None,
            max_in_flight=int(os.environ.get("PKG_LLM_MAX_IN_FLIGHT", "8")),
            recordings=[str(settings.DEMO_RECORDINGS), *extra],
        )

    def ask(self, conn: duckdb.DuckDBPyConnection, requests: list[LLMRequest], force: bool = False,
            log=None) -> tuple[list[LLMResult], CallStats]:
        """Answer every request, from the ledger where possible. Never raises per call."""
        if self.model.startswith("replay/"):
            from pkg_assets.resources import replay

            replay.register([Path(p) for p in self.recordings])
        return asyncio.run(self._ask_all(conn, requests, force, log))

    # ------------------------------------------------------------------ internals

    async def _ask_all(self, conn, requests, force, log):
        stats = CallStats(requested=len(requests))
        results: list[LLMResult | None] = [None] * len(requests)
        pending: list[int] = []
        for index, request in enumerate(requests):
            cached = None if force else self._lookup(conn, request)
            if cached is not None:
                results[index] = cached
                stats.cache_hits += 1
            else:
                pending.append(index)
        if log and pending:
            log.info(f"LLM {self.model}: {len(pending)} calls to make, {stats.cache_hits} answered from the ledger")

        semaphore = asyncio.Semaphore(max(1, self.max_in_flight))
        done = 0

        async def one(index: int) -> None:
            nonlocal done
            async with semaphore:
                result = await self._call(requests[index])
            self._record(conn, result)  # ledger row first, before anyone parses it
            results[index] = result
            stats.calls_made += 1
            stats.prompt_tokens += result.prompt_tokens
            stats.completion_tokens += result.completion_tokens
            stats.cost_usd += result.cost_usd
            if result.status == "error":
                stats.failures += 1
                stats.errors.append(f"{result.request.subject}: {result.error}")
            done += 1
            if log and (done % 100 == 0 or done == len(pending)):
                log.info(f"LLM progress: {done}/{len(pending)} calls answered")

        await asyncio.gather(*(one(i) for i in pending))
        return [r for r in results if r is not None], stats

    def _lookup(self, conn, request: LLMRequest) -> LLMResult | None:
        row = first_row(
            conn,
            """
            SELECT call_id, status, response, error FROM llm_calls
            WHERE model = ? AND prompt_version = ? AND input_hash = ? AND status IN ('ok', 'invalid')
            ORDER BY created_at DESC LIMIT 1
            """,
            [self.model, request.prompt.version, input_hash(request.prompt_input)],
        )
        if row is None:
            return None
        return LLMResult(request, row[0], row[1], row[2], row[3], cached=True)

    async def _call(self, request: LLMRequest) -> LLMResult:
        import litellm

        litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banner per failed call
        messages = request.prompt.render(**request.render_context)
        kwargs: dict = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "timeout": self.timeout_s,
            "num_retries": self.num_retries,
            "metadata": {
                "replay_prompt": request.prompt.name,
                "replay_key": request.replay_key,
                "replay_subject": request.subject,
            },
        }
        if self.api_base:
            kwargs["api_base"] = self.api_base
        if self.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        call_id = uuid.uuid4().hex
        started = time.perf_counter()
        try:
            response = await litellm.acompletion(**kwargs)
        except Exception as exc:  # every provider failure becomes a ledger row, not a crash
            return LLMResult(request, call_id, "error", None, f"{type(exc).__name__}: {exc}"[:2000],
                             latency_ms=(time.perf_counter() - started) * 1000, messages=messages)
        content = response.choices[0].message.content or ""
        usage = getattr(response, "usage", None)
        try:
            cost = float(litellm.completion_cost(completion_response=response) or 0.0)
        except Exception:  # unknown price for local/replay models
            cost = 0.0
        return LLMResult(
            request, call_id, "ok", content,
            prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cost_usd=cost,
            latency_ms=(time.perf_counter() - started) * 1000,
            messages=messages,
        )

    def _record(self, conn, result: LLMResult) -> None:
        request = result.request
        conn.execute(
            """
            INSERT INTO llm_calls (call_id, model, prompt_name, prompt_version, input_hash, partition,
                                   subject, request, response, status, error, prompt_tokens,
                                   completion_tokens, cost_usd, latency_ms, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                result.call_id, self.model, request.prompt.name, request.prompt.version,
                input_hash(request.prompt_input), request.partition, request.subject,
                json.dumps({"messages": result.messages, "input": request.prompt_input},
                           ensure_ascii=False, default=str),
                result.response, result.status, result.error, result.prompt_tokens,
                result.completion_tokens, result.cost_usd, result.latency_ms,
                datetime.now(timezone.utc).replace(tzinfo=None),
            ],
        )


def mark_invalid(conn: duckdb.DuckDBPyConnection, call_id: str, error: str) -> None:
    """An answer that fails its schema stays in the ledger, flagged, with the reason."""
    conn.execute("UPDATE llm_calls SET status = 'invalid', error = ? WHERE call_id = ?", [error[:2000], call_id])
