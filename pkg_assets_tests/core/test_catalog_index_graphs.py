"""The catalog index's HNSW graphs: one per HNSW_SHARD_SIZE products, searched together, and
an index opened from its files searches exactly as the one that built them."""

import numpy as np
import pytest

from pkg_assets.core import resolve
from pkg_assets.core.resolve import CatalogIndex, hnsw_shards, shard_path


def catalog(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """`n` random unit vectors in 384 dimensions (hard for a graph: no low-dimensional
    structure to follow), and their ids."""
    vectors = np.random.default_rng(seed).normal(size=(n, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [f"P{i:06d}" for i in range(n)], vectors


def noisy(vectors: np.ndarray, seed: int = 1) -> np.ndarray:
    """Queries near catalog vectors: mentions of those products."""
    return vectors + np.random.default_rng(seed).normal(scale=0.06, size=vectors.shape).astype(np.float32)


def test_shards_cover_every_position_once_in_equal_parts():
    assert hnsw_shards(0) == [range(0, 0)]
    assert hnsw_shards(resolve.HNSW_SHARD_SIZE) == [range(0, resolve.HNSW_SHARD_SIZE)]
    parts = hnsw_shards(2 * resolve.HNSW_SHARD_SIZE + 1)
    assert len(parts) == 3 and parts[0].start == 0 and parts[-1].stop == 2 * resolve.HNSW_SHARD_SIZE + 1
    assert all(a.stop == b.start for a, b in zip(parts, parts[1:]))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_an_index_opened_from_its_files_searches_as_the_one_that_built_them(tmp_path):
    """usearch does not save the search expansion: an opened graph searched at its default (64)
    while the process that built it searched at 256, so resolution decided differently in a
    step process that opened the index than in the one that built it."""
    ids, vectors = catalog(20_000)
    built = CatalogIndex(ids, [""] * len(ids), vectors, index_path=tmp_path / "v.usearch")
    queries = noisy(vectors[:400])
    keys, similarity = built.search(queries, 10)
    opened = CatalogIndex(ids, [""] * len(ids), vectors, index_path=tmp_path / "v.usearch")
    opened_keys, opened_similarity = opened.search(queries, 10)
    assert (opened_keys == keys).all() and np.array_equal(opened_similarity, similarity)


def test_a_catalog_over_the_shard_size_is_searched_across_all_its_graphs(tmp_path, monkeypatch):
    monkeypatch.setattr(resolve, "HNSW_SHARD_SIZE", 1_500)
    ids, vectors = catalog(4_000, seed=2)
    index = CatalogIndex(ids, [""] * len(ids), vectors, index_path=tmp_path / "v.usearch")
    queries = noisy(vectors[::40])  # products of every graph
    keys, similarity = index.search(queries, 5)
    assert [shard_path(tmp_path / "v.usearch", i).exists() for i in range(4)] == [True, True, True, False]
    exact = np.argsort(-(queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ vectors.T, axis=1)[:, :5]
    # Each product found, whichever graph holds it: the graphs are approximate and built on
    # threads, so one query in a hundred may miss in some build (seen once in CI).
    found = keys[:, 0] == np.arange(0, 4_000, 40)
    assert found.mean() >= 0.98 and all(found[p.start // 40:p.stop // 40].any() for p in hnsw_shards(4_000))
    assert np.mean([len(set(a) & set(b)) / 5 for a, b in zip(keys, exact)]) >= 0.98
    assert (np.diff(similarity, axis=1) <= 0).all()  # merged by similarity
    opened = CatalogIndex(ids, [""] * len(ids), vectors, index_path=tmp_path / "v.usearch")
    assert np.array_equal(opened.search(queries, 5)[0], keys)


@pytest.mark.parametrize("n", [0, 1, 3])
def test_tiny_catalogs(tmp_path, n):
    ids, vectors = catalog(n)
    index = CatalogIndex(ids, [""] * n, vectors if n else np.zeros((0, 384), np.float32), index_path=tmp_path / "v.usearch")
    keys, _ = index.search(np.ones((2, 384), np.float32), 2)
    assert keys.shape == (2, min(2, n))


def test_index_files_name_every_graph_and_the_tfidf_the_first_graph_first(tmp_path, monkeypatch):
    from pkg_assets.core.resolve import index_files, tfidf_path

    monkeypatch.setattr(resolve, "HNSW_SHARD_SIZE", 1_500)
    ids, vectors = catalog(4_000, seed=3)
    index = CatalogIndex(ids, ["a title"] * len(ids), vectors, index_path=tmp_path / "v.usearch")
    index.search(vectors[:1], 1), index.lexical_search(["title"], 1)
    (tmp_path / "w.usearch").write_bytes(b"another version")
    files = index_files(tmp_path / "v.usearch")
    assert files == [tmp_path / "v.usearch", tmp_path / "v.usearch.1", tmp_path / "v.usearch.2",
                     tfidf_path(tmp_path / "v.usearch")]
    assert all(file.exists() for file in files)
