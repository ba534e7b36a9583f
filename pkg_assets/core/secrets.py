"""Secrets never reach the ledger, Dagster events or logs.

Provider errors quote what they were sent: a bad key comes back as "Incorrect API key
provided: sk-proj-…", a proxy echoes the `Authorization: Bearer …` header. `redact` replaces
key-shaped text and the value of every key variable in the environment before an error is
stored or logged.
"""

from __future__ import annotations

import os
import re

REDACTED = "[redacted]"

# Key shapes providers use, whatever variable they came from.
_KEY_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"),  # OpenAI, Anthropic (sk-ant-…), DeepSeek, OpenRouter (sk-or-…)
    re.compile(r"(?i)\bBearer\s+[A-Za-z0-9._~+/=\-]{6,}"),
    re.compile(r"(?i)(\b(?:api[_-]?key|x-api-key|access[_-]?token|secret)\b[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]{6,}"),
    re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"),  # Google API keys
    re.compile(r"\bgsk_[A-Za-z0-9]{10,}"),  # Groq
    re.compile(r"\bhf_[A-Za-z0-9]{10,}"),  # Hugging Face
)
# Environment variables whose values are secrets (PKG_LLM_API_KEY, OPENAI_API_KEY, …).
_SECRET_NAME = re.compile(r"(?i)(API_KEY|_TOKEN|SECRET|PASSWORD)$|^PKG_LLM_API_KEY$")
_MIN_SECRET_CHARS = 6  # shorter values ("1", "none") would redact ordinary words


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    environ = os.environ if environ is None else environ
    values = {value.strip() for name, value in environ.items()
              if _SECRET_NAME.search(name) and len(value.strip()) >= _MIN_SECRET_CHARS}
    return sorted(values, key=len, reverse=True)  # longest first: a key containing another is replaced whole


def redact(text: str | None, secrets: list[str] | tuple[str, ...] = (), environ: dict[str, str] | None = None) -> str:
    """`text` with every known secret value and key-shaped token replaced by [redacted]."""
    if not text:
        return text or ""
    for value in [*secrets, *secret_values(environ)]:
        if value and len(value) >= _MIN_SECRET_CHARS:
            text = text.replace(value, REDACTED)
    for pattern in _KEY_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        else:
            text = pattern.sub(REDACTED, text)
    return text
