"""The embedder: normalised vectors, in the same order, with progress for long runs."""

import numpy as np

from pkg_assets.resources.embedder import EmbedderResource


def test_chunked_encoding_keeps_order_and_reports_progress():
    embedder = EmbedderResource(batch_size=2)
    texts = [f"product number {i}" for i in range(40)]  # 3 chunks of 16
    lines = []

    class Log:
        def info(self, message):
            lines.append(message)

    chunked = embedder.encode(texts, log=Log(), what="products", progress_every_s=0.0)
    whole = EmbedderResource(batch_size=64).encode(texts)
    assert chunked.shape == (40, embedder.dimension()) and np.allclose(chunked, whole, atol=1e-5)
    assert [line.split(",")[0] for line in lines] == [
        "embedding products: 16/40", "embedding products: 32/40", "embedding products: 40/40"]
