"""Clustering for collective knowledge: large categories go to bisecting k-means."""

import numpy as np

from pkg_assets.core.clustering import EXACT_KMEANS_UP_TO, cluster_products


def test_a_large_category_is_split_evenly_and_the_same_whatever_the_row_order():
    rng = np.random.default_rng(3)
    n = EXACT_KMEANS_UP_TO + 500
    centres = rng.normal(size=(n // 6, 384))
    vectors = centres[rng.integers(0, len(centres), n)] + rng.normal(scale=0.3, size=(n, 384))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [f"P{i:05d}" for i in range(n)]
    clusters = cluster_products(ids, vectors, target_size=6)
    members = sorted(pid for group in clusters.values() for pid in group)
    assert members == ids  # each product in exactly one cluster
    assert len(clusters) == round(n / 6)
    assert max(map(len, clusters.values())) <= 18  # no giant cluster for one prompt
    shuffled = rng.permutation(n)
    assert cluster_products([ids[i] for i in shuffled], vectors[shuffled], target_size=6) == clusters
