"""A local fake OpenAI-compatible chat server: try a catalog end to end without paying, and
drive tests and benchmarks through litellm's real HTTP path.

    .venv/bin/python -m pkg_assets.fake_llm --port 8001 [--latency-s 0.2] [--p-429 0.05] ...
    PKG_LLM_MODEL=openai/fake PKG_LLM_API_BASE=http://127.0.0.1:8001/v1 .venv/bin/pkg-demo --catalog ...

Its answers are made up from the product titles (see `fake_answer`): the pipeline runs every
stage for real, but the knowledge is not knowledge.

Extraction talks to it through litellm's normal HTTP path (`openai/<name>` model with
`api_base`), so retries, time-outs, parsing and the ledger are exercised for real. It
binds to 127.0.0.1 only, on a free port, in a background thread.

    with FakeLLMServer(latency_s=0.3, p_429=0.05, p_500=0.05) as server:
        LLMResource(model="openai/fake", api_base=server.base_url, ...)

Faults are drawn per request from a seeded RNG: 429 (with Retry-After), 500, a time-out
(the server sleeps past the client's limit), malformed content (not JSON), an HTTP 200 whose
body has `choices: []`, content of JSON nested 100,000 deep, and a 401 that quotes the key
it was sent (as some providers do). `auth_headers` keeps every Authorization header seen. The
"model" answers factor prompts with a few relations derived from the product title,
verifier prompts with "yes" exactly when the two items' titles share a word, co-purchased
pairs with "complement" when their titles share a word (a shared usage when they share a
category level, "none" otherwise), and,
like a naive model, obeys instructions planted in the catalog text ("answer with relation
'X'") — which the pipeline's schema validation must catch.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import time
from collections import Counter

from aiohttp import web

_PRODUCT = re.compile(r"<product_data>\s*(.*?)\s*</product_data>", re.DOTALL)
_QUESTION = re.compile(r"Question \((\w+)\)")
_PLANTED = re.compile(r"answer with relation '([a-z_]+)'", re.IGNORECASE)

FACTOR_RELATION = {
    "complements": ("complement", "product"), "consumables": ("consumable", "product"),
    "substitutes": ("substitute", "product"), "occasions": ("for_occasion", "concept"),
    "audience": ("for_audience", "concept"), "usage": ("used_for", "concept"),
}


def _title_words(title: str | None) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]+", title or "") if len(w) > 3}


def fake_answer(messages: list[dict]) -> str:
    """What the fake model says: deterministic in the prompt."""
    user = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    question = _QUESTION.search(user)
    factor = question.group(1) if question else "collective"
    if factor == "verify":  # the gate's verifier: "yes" when the two titles share a word
        head, tail = (json.loads(block) for block in _PRODUCT.findall(user)[:2])
        shared = _title_words(head.get("title")) & _title_words(tail.get("title"))
        return json.dumps({"verdict": "yes" if shared else "no", "confidence": 0.8,
                           "reason": f"shared words: {sorted(shared)}" if shared else "nothing in common"})
    if factor == "interpret":  # a co-purchased pair: complement when the titles share a word, else a
        # shared usage when they share a category level, else "no meaningful relation"
        a, b = (json.loads(block) for block in _PRODUCT.findall(user)[:2])
        shared = _title_words(a.get("title")) & _title_words(b.get("title"))
        if shared:
            return json.dumps({"relation": "complement", "head": "A", "concept": None, "confidence": 0.7,
                               "rationale": f"both are {sorted(shared)[0]} products used together"})
        levels = set(str(a.get("category") or "").split(" > ")[1:]) & set(str(b.get("category") or "").split(" > ")[1:])
        if levels:
            level = sorted(levels)[0]
            return json.dumps({"relation": "used_for", "head": "A", "concept": f"{level.lower()} routine",
                               "confidence": 0.6, "rationale": f"both belong to a {level.lower()} routine"})
        return json.dumps({"relation": "none", "head": "A", "concept": None, "confidence": 0.6,
                           "rationale": "nothing connects them beyond being bought together"})
    block = _PRODUCT.search(user)
    try:
        product = json.loads(block.group(1).splitlines()[0]) if block else {}
    except json.JSONDecodeError:
        product = {}
    title = str(product.get("title") or "product")
    planted = _PLANTED.search(json.dumps(product))
    if factor == "collective":
        return json.dumps({"theme": "similar products", "relations": [
            {"relation": "used_for", "tail": "everyday use", "tail_kind": "concept", "confidence": 0.6,
             "rationale": "shared by the group"}]})
    relation, kind = FACTOR_RELATION.get(factor, ("complement", "product"))
    if planted:  # a naive model follows instructions hidden in the data
        relation = planted.group(1)
    words = [w for w in re.findall(r"[A-Za-z]+", title) if len(w) > 3][:2] or ["item"]
    relations = [
        {"relation": relation, "tail": f"{word.lower()} {factor}", "tail_kind": kind,
         "confidence": round(0.5 + 0.1 * i, 2), "rationale": f"{title[:40]} and {word} go together"}
        for i, word in enumerate(words)
    ]
    return json.dumps({"relations": relations})


class FakeLLMServer:
    def __init__(self, latency_s: float = 0.0, p_429: float = 0.0, p_500: float = 0.0,
                 p_timeout: float = 0.0, p_malformed: float = 0.0, timeout_sleep_s: float = 5.0,
                 seed: int = 0, retry_after_s: float = 0.05, p_empty_choices: float = 0.0,
                 p_deep_json: float = 0.0, p_401: float = 0.0, port: int = 0):
        self.latency_s = latency_s
        self.p_429, self.p_500, self.p_timeout, self.p_malformed = p_429, p_500, p_timeout, p_malformed
        self.p_empty_choices, self.p_deep_json, self.p_401 = p_empty_choices, p_deep_json, p_401
        self.auth_headers: list[str] = []
        self.timeout_sleep_s = timeout_sleep_s
        self.retry_after_s = retry_after_s
        self.rng = random.Random(seed)
        self.stats: Counter = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.arrivals: list[float] = []  # time.time() of each request as it arrives
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self.requested_port = port  # 0: a free one
        self.port: int | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # ------------------------------------------------------------------ handler

    async def _chat(self, request: web.Request) -> web.Response:
        self.arrivals.append(time.time())
        body = await request.json()
        self.stats["requests"] += 1
        self.auth_headers.append(request.headers.get("Authorization", ""))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            draw = self.rng.random()
            edges = [("429", self.p_429), ("500", self.p_500), ("timeout", self.p_timeout),
                     ("malformed", self.p_malformed), ("empty_choices", self.p_empty_choices),
                     ("deep_json", self.p_deep_json), ("401", self.p_401)]
            fault, cumulative = None, 0.0
            for name, p in edges:
                cumulative += p
                if draw < cumulative:
                    fault = name
                    break
            if fault == "timeout":
                self.stats["timeout"] += 1
                await asyncio.sleep(self.timeout_sleep_s)
                return web.json_response({"error": {"message": "too slow"}}, status=504)
            await asyncio.sleep(self.latency_s)
            if fault == "429":
                self.stats["429"] += 1
                return web.json_response({"error": {"message": "Rate limit reached", "type": "rate_limit_error"}},
                                         status=429, headers={"Retry-After": str(self.retry_after_s)})
            if fault == "500":
                self.stats["500"] += 1
                return web.json_response({"error": {"message": "internal error", "type": "server_error"}}, status=500)
            if fault == "401":
                self.stats["401"] += 1
                sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
                return web.json_response({"error": {"message": f"Incorrect API key provided: {sent}. "
                                                    f"(header was Authorization: Bearer {sent})",
                                                    "type": "invalid_request_error", "code": "invalid_api_key"}},
                                         status=401)
            if fault == "empty_choices":
                self.stats["empty_choices"] += 1
                return web.json_response({"id": f"chatcmpl-{self.stats['requests']}", "object": "chat.completion",
                                          "created": int(time.time()), "model": body.get("model", "fake"),
                                          "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 0,
                                                                   "total_tokens": 10}})
            if fault == "malformed":
                content = "Sure! Here you go: {relations: [oops"
            elif fault == "deep_json":
                content = "[" * 100_000 + "]" * 100_000
            else:
                content = fake_answer(body["messages"])
            if fault in ("malformed", "deep_json"):
                self.stats[fault] += 1
            self.stats["ok"] += 1
            prompt_tokens = sum(len(str(m.get("content", ""))) for m in body["messages"]) // 4
            completion_tokens = max(1, len(content) // 4)
            return web.json_response({
                "id": f"chatcmpl-{self.stats['requests']}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                          "total_tokens": prompt_tokens + completion_tokens},
            })
        finally:
            self.in_flight -= 1

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeLLMServer:
        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            app = web.Application()
            app.router.add_post("/v1/chat/completions", self._chat)
            app.router.add_post("/chat/completions", self._chat)
            self._runner = web.AppRunner(app, access_log=None)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", self.requested_port, backlog=1024)
            self._loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]
            self._ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="fake-llm-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake LLM server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pkg_assets.fake_llm",
                                     description="A fake OpenAI-compatible chat server on 127.0.0.1 (answers made up "
                                     "from product titles; faults on request).")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--latency-s", type=float, default=0.0, help="seconds per answer")
    for fault in ("429", "500", "timeout", "malformed", "401"):
        parser.add_argument(f"--p-{fault}", type=float, default=0.0, help=f"share of requests answered with {fault}")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    server = FakeLLMServer(latency_s=args.latency_s, p_429=args.p_429, p_500=args.p_500, p_timeout=args.p_timeout,
                           p_malformed=args.p_malformed, p_401=args.p_401, seed=args.seed, port=args.port).start()
    print(f"fake LLM listening on {server.base_url}: set PKG_LLM_MODEL=openai/fake "
          f"PKG_LLM_API_BASE={server.base_url} (Ctrl-C stops it)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
