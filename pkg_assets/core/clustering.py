"""Seeded, deterministic product clustering for REKI collective extraction."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import BisectingKMeans, KMeans

from pkg_assets.core.prompts import cluster_signature

# The pipeline's clustering settings. Changing either changes the clusters, so the demo's
# recorded cluster answers must be re-recorded (`pkg-recordings` lists which).
CLUSTER_TARGET_SIZE = 6
CLUSTER_SEED = 0
# Up to this many products, exact k-means with ten seeded starts; above it, bisecting k-means.
# With k = n/6 clusters, k-means costs about n² per pass (28 s at 3,808 amazon-beauty products,
# ~n^1.5 growth measured); bisecting k-means splits the largest cluster in two until there are k
# (0.8 s there), and its clusters are evener (none above 12 members). Small categories keep
# exact k-means so the clusters, and the cluster answers recorded for them, stay as they were.
EXACT_KMEANS_UP_TO = 1000


def cluster_products(product_ids: list[str], vectors: np.ndarray, target_size: int = 6,
                     seed: int = 0) -> dict[str, list[str]]:
    """Group products into clusters of about `target_size`; returns signature -> member ids.
    Exact k-means up to EXACT_KMEANS_UP_TO products, bisecting k-means above.

    Input order does not matter (rows are sorted by id first), and k-means is seeded, so
    the same catalog always yields the same clusters and thus the same cluster prompts.
    """
    if not product_ids:
        return {}
    order = np.argsort(np.asarray(product_ids))
    ids = [product_ids[i] for i in order]
    # Rounded so float noise across machines (thread counts, BLAS) cannot move a product.
    matrix = np.round(np.asarray(vectors, dtype=np.float64)[order], 4)
    n_clusters = max(1, min(len(ids), round(len(ids) / max(1, target_size))))
    if n_clusters == 1:
        labels = np.zeros(len(ids), dtype=int)
    elif len(ids) <= EXACT_KMEANS_UP_TO:
        labels = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit_predict(matrix)
    else:
        labels = BisectingKMeans(n_clusters=n_clusters, random_state=seed,
                                 bisecting_strategy="largest_cluster").fit_predict(matrix)
    groups: dict[int, list[str]] = {}
    for pid, label in zip(ids, labels):
        groups.setdefault(int(label), []).append(pid)
    return {cluster_signature(members): members for members in groups.values()}
