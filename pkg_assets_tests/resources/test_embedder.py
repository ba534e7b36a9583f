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


def test_text_cache_encodes_each_text_once_per_model(tmp_path):
    from pkg_assets.resources.warehouse import open_folder_warehouse

    class Counting(EmbedderResource):
        def encode(self, texts, log=None, what="texts", progress_every_s=10.0):
            encoded.extend(texts)
            return super().encode(texts, log, what, progress_every_s)

    encoded: list[str] = []
    embedder = Counting()
    texts = ["rose bouquet", "greeting card", "rose bouquet", "vase"]
    with open_folder_warehouse(tmp_path) as conn:
        first, new = embedder.encode_cached(conn, texts)
        assert new == 3 and sorted(encoded) == ["greeting card", "rose bouquet", "vase"]
        assert np.allclose(first, EmbedderResource().encode(texts), atol=1e-5)  # aligned, repeats included
        encoded.clear()
        again, new = embedder.encode_cached(conn, ["vase", "gift wrap", "rose bouquet"])
        assert new == 1 and encoded == ["gift wrap"]  # only the text the cache lacks
        assert np.array_equal(again[[0, 2]], first[[3, 0]])
        other_model = Counting(model_path=embedder.model_path, batch_size=8)
        assert other_model.model_name == embedder.model_name  # same model: the cache is shared
        encoded.clear()
        assert other_model.encode_cached(conn, ["vase"])[1] == 0 and encoded == []
        assert conn.execute("SELECT count(*) FROM text_embeddings").fetchone()[0] == 4


def test_int8_encoder_is_opt_in_named_apart_and_close_to_float32(monkeypatch):
    texts = ["Viktor & Rolf Flowerbomb Eau de Parfum Spray", "OPI Nail Lacquer Top Coat", "travel perfume atomizer"]
    default = EmbedderResource.from_env()
    monkeypatch.setenv("PKG_EMBEDDER_INT8", "1")
    quantised = EmbedderResource.from_env()
    assert not default.int8 and quantised.int8
    assert quantised.model_name != default.model_name  # its vectors are cached and stored apart
    a, b = default.encode(texts), quantised.encode(texts)
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
    assert not np.array_equal(a, b) and (np.sum(a * b, axis=1) > 0.9).all()
