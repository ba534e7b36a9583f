"""The LLM client: litellm behind a ledger.

Every call is a row in `llm_calls` before it is anything else: the raw response is
written the moment it arrives, before any parsing, so a crash after paying for an answer
never loses it. An identical (model, prompt version, input hash) is answered from the
ledger instead of the provider; `force=True` asks again.

Calls run concurrently on one asyncio loop: at most `max_in_flight` at once, and under
optional requests-per-minute / tokens-per-minute budgets (aiolimiter's leaky buckets).
Rate limits (429), server errors (5xx), time-outs and connection errors are retried with
exponential back-off and jitter (tenacity); every attempt is counted in the ledger row.
The ledger is written from the loop's own thread, so the single DuckDB connection is never
used from two threads.
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
import pandas as pd
from pydantic import BaseModel, Field

from pkg_assets import settings
from pkg_assets.core.prompts import PromptTemplate, input_hash
from pkg_assets.resources.warehouse import registered

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

    def as_metadata(self) -> dict:
        return {
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


def _retryable_exceptions() -> tuple[type[BaseException], ...]:
    import litellm

    names = ("RateLimitError", "InternalServerError", "ServiceUnavailableError", "Timeout", "APIConnectionError",
             "BadGatewayError")
    return tuple(getattr(litellm, name) for name in names if hasattr(litellm, name))


def approx_tokens(messages: list[dict]) -> int:
    """~4 characters per token: cheap enough to run on every request for rate limiting."""
    return sum(len(str(m.get("content", ""))) for m in messages) // 4 + 4 * len(messages)


class LLMResource(dg.ConfigurableResource):
    """Any litellm model (`PKG_LLM_MODEL`), default the offline `replay/demo` recordings."""

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
    recordings: list[str] = Field(
        default_factory=lambda: [str(settings.DEMO_RECORDINGS)],
        description="recorded answers the replay/ provider serves",
    )

    @classmethod
    def from_env(cls) -> LLMResource:
        extra = [p for p in os.environ.get("PKG_REPLAY_RECORDINGS", "").split(os.pathsep) if p]

        def optional_int(name: str) -> int | None:
            value = os.environ.get(name, "").strip()
            return int(value) if value else None

        return cls(
            model=os.environ.get("PKG_LLM_MODEL", settings.DEFAULT_MODEL),
            api_base=os.environ.get("PKG_LLM_API_BASE") or None,
            max_in_flight=int(os.environ.get("PKG_LLM_MAX_IN_FLIGHT", "8")),
            requests_per_minute=optional_int("PKG_LLM_RPM"),
            tokens_per_minute=optional_int("PKG_LLM_TPM"),
            timeout_s=float(os.environ.get("PKG_LLM_TIMEOUT_S", "60")),
            num_retries=int(os.environ.get("PKG_LLM_RETRIES", "4")),
            retry_initial_s=float(os.environ.get("PKG_LLM_RETRY_INITIAL_S", "1")),
            recordings=[str(settings.DEMO_RECORDINGS), *extra],
        )

    # ------------------------------------------------------------------ public

    def ask(self, conn: duckdb.DuckDBPyConnection, requests: list[LLMRequest], force: bool = False,
            log=None) -> tuple[list[LLMResult], CallStats]:
        """Answer every request, from the ledger where possible. Never raises per call."""
        self._prepare_provider()
        started = time.perf_counter()
        results, stats = asyncio.run(self._ask_all(conn, requests, force, log))
        stats.wall_s = time.perf_counter() - started
        return results, stats

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

    def _prepare_provider(self) -> None:
        import litellm

        litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banner per failed call
        if self.model.startswith("replay/"):
            from pkg_assets.resources import replay

            replay.register([Path(p) for p in self.recordings])

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

    async def _ask_all(self, conn, requests, force, log):
        from aiolimiter import AsyncLimiter

        stats = CallStats(requested=len(requests))
        results: list[LLMResult | None] = [None] * len(requests)
        cached = {} if force else self._cached(conn, requests)
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
        progress_every = max(1, len(pending) // 10)
        done = 0

        async def one(index: int) -> None:
            nonlocal done
            async with semaphore:
                result = await self._call(requests[index], request_budget, token_budget)
            self._record(conn, result)  # ledger row first, before anyone parses it
            results[index] = result
            stats.calls_made += 1
            stats.attempts += result.attempts
            stats.prompt_tokens += result.prompt_tokens
            stats.completion_tokens += result.completion_tokens
            stats.cost_usd += result.cost_usd
            if result.status == "error":
                stats.failures += 1
                stats.errors.append(f"{result.request.subject}: {result.error}")
            done += 1
            if log and (done % progress_every == 0 or done == len(pending)):
                log.info(f"LLM progress: {done}/{len(pending)} answered, {stats.failures} failed, "
                         f"{stats.attempts - stats.calls_made} retries, {stats.prompt_tokens + stats.completion_tokens} tokens")

        await asyncio.gather(*(one(i) for i in pending))
        return [r for r in results if r is not None], stats

    def _completion_kwargs(self, request: LLMRequest, messages: list[dict]) -> dict:
        import litellm

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
        api_key = self.api_key or os.environ.get("PKG_LLM_API_KEY")
        if api_key:
            kwargs["api_key"] = api_key
        elif self.api_base and self.model.startswith("openai/") and not os.environ.get("OPENAI_API_KEY"):
            kwargs["api_key"] = "not-needed"  # local OpenAI-compatible servers (vLLM) ignore it; the SDK wants one
        if self.json_mode:
            try:
                structured = request.schema is not None and litellm.supports_response_schema(model=self.model)
            except Exception:
                structured = False
            kwargs["response_format"] = request.schema if structured else {"type": "json_object"}
        return kwargs

    async def _call(self, request: LLMRequest, request_budget, token_budget) -> LLMResult:
        import litellm
        from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

        messages = request.prompt.render(**request.render_context)
        kwargs = self._completion_kwargs(request, messages)
        call_id = uuid.uuid4().hex
        started = time.perf_counter()
        attempts = 0
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self.num_retries + 1),
                wait=wait_exponential_jitter(initial=self.retry_initial_s, max=self.retry_max_s),
                retry=retry_if_exception_type(_retryable_exceptions()),
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
            return LLMResult(request, call_id, "error", None, f"{type(exc).__name__}: {exc}"[:2000],
                             latency_ms=(time.perf_counter() - started) * 1000, messages=messages,
                             attempts=attempts)
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
            attempts=attempts,
        )

    def _record(self, conn, result: LLMResult) -> None:
        request = result.request
        conn.execute(
            """
            INSERT INTO llm_calls (call_id, model, prompt_name, prompt_version, input_hash, partition,
                                   subject, request, response, status, error, prompt_tokens,
                                   completion_tokens, cost_usd, latency_ms, attempts, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                result.call_id, self.model, request.prompt.name, request.prompt.version,
                request.input_hash, request.partition, request.subject,
                json.dumps({"messages": result.messages, "input": request.prompt_input,
                            "temperature": self.temperature if request.temperature is None else request.temperature},
                           ensure_ascii=False, default=str),
                result.response, result.status, result.error, result.prompt_tokens,
                result.completion_tokens, result.cost_usd, result.latency_ms, result.attempts,
                datetime.now(timezone.utc).replace(tzinfo=None),
            ],
        )


def mark_invalid(conn: duckdb.DuckDBPyConnection, call_id: str, error: str) -> None:
    """An answer that fails its schema stays in the ledger, flagged, with the reason."""
    conn.execute("UPDATE llm_calls SET status = 'invalid', error = ? WHERE call_id = ?", [error[:2000], call_id])
