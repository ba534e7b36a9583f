"""`replay/...`: a litellm custom provider that answers from recorded LLM answers.

The pipeline's default model, so the demo runs offline through litellm's normal code
path (request building, usage accounting, our ledger). A request names its recording
with `metadata={"replay_key": ...}`; a request with no recording fails with an error that
names the prompt and key and says how to configure a real model.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import litellm
from litellm import CustomLLM
from litellm.llms.custom_llm import CustomLLMError
from litellm.types.utils import ModelResponse, Usage

PROVIDER = "replay"
_LOCK = threading.Lock()


def load_recordings(paths: list[Path]) -> dict[tuple[str, str], dict]:
    """(prompt name, key) -> recording. Later files override earlier ones."""
    recordings: dict[tuple[str, str], dict] = {}
    for path in paths:
        if not path.exists():
            continue
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    record = json.loads(line)
                    recordings[(record["prompt"], record["key"])] = record
    return recordings


class ReplayLLM(CustomLLM):
    def __init__(self, recording_paths: list[Path]):
        super().__init__()
        self.recording_paths = recording_paths
        self.recordings = load_recordings(recording_paths)

    def _answer(self, messages: list, model_response: ModelResponse, litellm_params: dict | None, model: str) -> ModelResponse:
        metadata = (litellm_params or {}).get("metadata") or {}
        prompt, key = metadata.get("replay_prompt"), metadata.get("replay_key")
        record = self.recordings.get((prompt, key))
        if record is None:
            subject = metadata.get("replay_subject") or key
            raise CustomLLMError(
                status_code=404,
                message=(
                    f"replay model has no recorded answer for prompt {prompt!r}, key {key!r} "
                    f"({subject}). Recordings read from: "
                    f"{', '.join(str(p) for p in self.recording_paths) or 'none'}. "
                    "The offline default only answers for the demo catalog; to extract "
                    "relations for your own catalog set PKG_LLM_MODEL to a litellm model "
                    "(e.g. openai/gpt-4o-mini, anthropic/claude-3-5-haiku-latest, "
                    "ollama/llama3.1) and its key or PKG_LLM_API_BASE. "
                    "`pkg-recordings` lists the recordings the demo needs."
                ),
            )
        content = record["response"]
        model_response.choices[0].message.content = content
        model_response.model = f"{PROVIDER}/{model}"
        prompt_tokens = sum(len(str(m.get("content", ""))) for m in messages) // 4
        # Recorded answers carry no usage; ~4 characters per token keeps cost estimates sane.
        model_response.usage = Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=len(content) // 4,
            total_tokens=prompt_tokens + len(content) // 4,
        )
        return model_response

    def completion(self, model, messages, api_base, custom_prompt_dict, model_response, print_verbose,
                   encoding, api_key, logging_obj, optional_params, acompletion=None,
                   litellm_params=None, logger_fn=None, headers=None, timeout=None, client=None):
        return self._answer(messages, model_response, litellm_params, model)

    async def acompletion(self, model, messages, api_base, custom_prompt_dict, model_response,
                          print_verbose, encoding, api_key, logging_obj, optional_params,
                          acompletion=None, litellm_params=None, logger_fn=None, headers=None,
                          timeout=None, client=None):
        return self._answer(messages, model_response, litellm_params, model)


def register(recording_paths: list[Path]) -> ReplayLLM:
    """Install (or refresh) the replay provider in litellm's custom provider map."""
    handler = ReplayLLM(recording_paths)
    with _LOCK:
        others = [p for p in (litellm.custom_provider_map or []) if p.get("provider") != PROVIDER]
        litellm.custom_provider_map = [*others, {"provider": PROVIDER, "custom_handler": handler}]
        # litellm builds its provider list from the map lazily; make sure it knows "replay".
        from litellm.utils import custom_llm_setup

        custom_llm_setup()
    return handler
