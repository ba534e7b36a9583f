"""Which recorded answers a catalog needs, and which of them the recordings lack.

The `replay/` model answers (prompt name, key) pairs: `<product_id>/<factor>` for the
factor prompts, `cluster/<signature>` for the collective prompt, where the signature
names the cluster's member set, and `pair/<a_id>/<b_id>` for the co-purchased pairs
interpreted_relations selects. Editing a prompt makes every recording of it *stale*
(recorded against another version); a catalog, clustering, interactions or selection change
makes recordings *missing*. `pkg-recordings` prints both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pkg_assets.core.clustering import CLUSTER_SEED, CLUSTER_TARGET_SIZE, cluster_products
from pkg_assets.core.models import FACTORS
from pkg_assets.core.interpretation import pair_key
from pkg_assets.core.prompts import CLUSTER_PROMPT, FACTOR_PROMPTS, INTERPRET_PROMPT
from pkg_assets.core.resolve import product_embedding_text
from pkg_assets.resources.replay import load_recordings


@dataclass(frozen=True)
class NeededRecording:
    prompt: str
    key: str
    prompt_version: str
    category: str
    members: tuple[str, ...] = ()  # cluster members, for cluster prompts


def stored_embeddings(model: str) -> dict[tuple[str, str], np.ndarray]:
    """(product_id, content_hash) -> the vector the pipeline stored for that exact content, read
    from the environment's warehouse. Empty when there is none yet."""
    from pkg_assets.resources.warehouse import open_warehouse, vector_matrix, warehouse_exists

    if not warehouse_exists():
        return {}
    with open_warehouse() as conn:
        keys, vectors = vector_matrix(
            conn, "SELECT product_id, content_hash, embedding FROM product_embeddings WHERE model = ?", [model])
    return dict(zip(zip(keys["product_id"], keys["content_hash"]), vectors))


def plan_clusters(products: pd.DataFrame, embedder, stored: dict | None = None) -> dict[str, dict[str, list[str]]]:
    """category -> signature -> member ids, exactly as the pipeline clusters them. Vectors the
    warehouse already holds for the same content are reused (the embedding model is the slow
    part: loading it and encoding a whole catalog took most of `pkg-recordings`' time)."""
    stored = stored or {}
    plan = {}
    for category, group in products.sort_values("product_id").groupby("category", sort=True):
        keys = list(zip(group["product_id"], group["content_hash"]))
        todo = [i for i, key in enumerate(keys) if key not in stored]
        texts = [product_embedding_text(t, p) for t, p in zip(group["title"], group["category_path"])]
        fresh = dict(zip(todo, embedder.encode([texts[i] for i in todo]))) if todo else {}
        vectors = np.asarray([fresh[i] if i in fresh else stored[key] for i, key in enumerate(keys)])
        plan[category] = cluster_products(group["product_id"].tolist(), vectors, CLUSTER_TARGET_SIZE, CLUSTER_SEED)
    return plan


def plan_interpretations(products: pd.DataFrame, interactions: pd.DataFrame | None,
                         config=None) -> dict[str, list[tuple[str, str]]]:
    """category -> the (a, b) pairs interpreted_relations selects, exactly as the pipeline
    does: behaviour mined with sql/behavior_edges_build.sql (behavior_edges' defaults), then
    sql/interpreted_pairs.sql with `config` (InterpretationConfig's defaults when None)."""
    import duckdb

    from pkg_assets.defs.behavior.assets import BehaviorConfig, InterpretationConfig, mine_into_table, select_pairs
    from pkg_assets.resources.warehouse import ensure_tables

    if interactions is None or interactions.empty:
        return {}
    config = config or InterpretationConfig()
    mining = BehaviorConfig()
    with duckdb.connect() as conn:
        ensure_tables(conn)
        conn.register("_products", products[["product_id", "title", "category", "content_hash"]])
        conn.execute("INSERT INTO products BY NAME SELECT * FROM _products")
        conn.register("_events", interactions[["user_id", "product_id", "position"]])
        mine_into_table(conn, "SELECT user_id, product_id, position FROM _events", mining.window, mining.min_support)
        plan = {}
        for category in sorted(products["category"].dropna().unique()):
            pairs = select_pairs(conn, category, config)
            pairs = pairs[pairs["stage"] == "selected"]
            plan[category] = list(zip(pairs["a_id"], pairs["b_id"]))
    return plan


def needed_recordings(products: pd.DataFrame, embedder, stored: dict | None = None,
                      interactions: pd.DataFrame | None = None) -> list[NeededRecording]:
    needed = [
        NeededRecording(FACTOR_PROMPTS[f].name, f"{pid}/{f}", FACTOR_PROMPTS[f].version, category)
        for pid, category in zip(products["product_id"], products["category"]) for f in FACTORS
    ]
    for category, clusters in plan_clusters(products, embedder, stored).items():
        for signature, members in sorted(clusters.items()):
            needed.append(NeededRecording(CLUSTER_PROMPT.name, f"cluster/{signature}", CLUSTER_PROMPT.version,
                                          category, tuple(members)))
    for category, pairs in plan_interpretations(products, interactions).items():
        for a_id, b_id in pairs:
            needed.append(NeededRecording(INTERPRET_PROMPT.name, pair_key(a_id, b_id), INTERPRET_PROMPT.version,
                                          category, (a_id, b_id)))
    return needed


def audit(needed: list[NeededRecording], recording_paths: list[Path]) -> tuple[list[NeededRecording], list[NeededRecording]]:
    """(missing, stale) among the needed recordings."""
    recordings = load_recordings(recording_paths)
    missing, stale = [], []
    for need in needed:
        record = recordings.get((need.prompt, need.key))
        if record is None:
            missing.append(need)
        elif record.get("prompt_version") != need.prompt_version:
            stale.append(need)
    return missing, stale
