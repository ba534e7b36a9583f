"""Entity resolution: product embeddings, and LLM mentions linked to products or concepts."""


import threading
from datetime import datetime, timezone

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from pkg_assets import settings
from pkg_assets.core.models import CONCEPT_KIND_BY_RELATION
from pkg_assets.core.resolve import (
    INDEX_FORMAT,
    CatalogIndex,
    ResolutionConfig,
    canonicalise_concepts,
    concept_key,
    candidates_json,
    category_words,
    index_files,
    find_duplicate_products,
    product_embedding_text,
    ProductLink,
    break_ties_by_behaviour,
    is_ambiguous,
    resolve_product_mentions,
    tied_candidates,
)
from pkg_assets.defs.catalog.assets import interactions, products
from pkg_assets.defs.extraction.assets import llm_relations
from pkg_assets.defs.metadata import counts_table, preview
from pkg_assets.defs.partitions import category_partitions
from pkg_assets.resources.embedder import EmbedderResource
from pkg_assets.resources.warehouse import (WarehouseResource, behaviour_for_pairs, replace_partition, scalar,
                                            vector_array, vector_matrix)


def _now():
    return datetime.now(timezone.utc).replace(tzinfo=None)


@dg.asset(
    group_name="resolution",
    partitions_def=category_partitions,
    deps=[products],
    kinds={"duckdb", "sentence_transformers"},
    pool="duckdb",
    description="Normalised sentence embeddings of product titles (all-MiniLM-L6-v2). Only new or "
    "changed products (by content hash) are re-embedded.",
)
def product_embeddings(context: dg.AssetExecutionContext, embedder: EmbedderResource,
                       warehouse: WarehouseResource) -> dg.MaterializeResult:
    category = context.partition_key
    with warehouse.connect() as conn:
        current = conn.execute(
            "SELECT product_id, title, category_path, content_hash FROM products WHERE category = ? ORDER BY product_id",
            [category],
        ).df()
        existing, existing_vectors = vector_matrix(
            conn, "SELECT product_id, content_hash, embedding FROM product_embeddings WHERE category = ? AND model = ?",
            [category, embedder.model_name])
        known = dict(zip(zip(existing["product_id"], existing["content_hash"]), range(len(existing))))
        todo = current[[(pid, h) not in known for pid, h in zip(current["product_id"], current["content_hash"])]]
        context.log.info(f"embedding {len(todo)} new/changed products, reusing {len(current) - len(todo)}")
        fresh = embedder.encode([product_embedding_text(t, p) for t, p in zip(todo["title"], todo["category_path"])],
                                log=context.log, what="products") if len(todo) else None  # none: no model load
        fresh_row = dict(zip(todo["product_id"], range(len(todo))))
        width = fresh.shape[1] if len(todo) else existing_vectors.shape[1]
        vectors = np.zeros((len(current), width), dtype=np.float32)
        for row, (pid, content_hash) in enumerate(zip(current["product_id"], current["content_hash"])):
            vectors[row] = fresh[fresh_row[pid]] if pid in fresh_row else existing_vectors[known[(pid, content_hash)]]
        frame = pd.DataFrame({
            "category": category,
            "product_id": current["product_id"],
            "content_hash": current["content_hash"],
            "model": embedder.model_name,
            "embedding": vector_array(vectors),
            "embedded_at": _now(),
        })
        replace_partition(conn, "product_embeddings", frame, category)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(frame),
        "embedded_now": len(todo),
        "reused": len(current) - len(todo),
        "model": embedder.model_name,
    })


class _LatestCatalogIndex:
    """This process's index of the latest catalog version (a new version replaces it).

    An object, not a module-level dict: asset code versions hash the constants their code
    reads (core/code_identity.py), and a dict that fills at run time would change them."""

    def __init__(self) -> None:
        self.version: str | None = None
        self.index: CatalogIndex | None = None
        self.lock = threading.Lock()

    def forget(self) -> None:
        self.version, self.index = None, None


_LATEST_INDEX = _LatestCatalogIndex()
KEPT_INDEX_FILES = 3  # older versions' HNSW files are removed beyond this many


def catalog_version(conn) -> str:
    """A digest of everything `load_catalog_index` reads: each embedded product's id, content
    hash, embedding model and category, and the index's own parameters (INDEX_FORMAT). Any
    change gives a new version, hence a new index."""
    return scalar(conn, """
        SELECT md5(? || ':' || count(*)::VARCHAR || ':' || coalesce(bit_xor(md5_number(concat_ws('|',
                   e.product_id, e.content_hash, e.model, p.content_hash, p.category)))::VARCHAR, ''))
        FROM product_embeddings e JOIN products p USING (product_id)
        """, [INDEX_FORMAT])


def load_catalog_index(conn) -> CatalogIndex:
    """Every embedded product of every category: resolution searches the whole catalog.

    Built once per catalog version: kept in this process for the next partition or stage
    (resolution, the gate, duplicates and the evaluation's re-gate all read it), and its HNSW
    graph saved under `<data dir>/catalog_index/<version>.usearch` for other processes and
    runs, which open it memory-mapped instead of building it again."""
    version = catalog_version(conn)
    with _LATEST_INDEX.lock:
        if _LATEST_INDEX.version == version:
            return _LATEST_INDEX.index
        frame, vectors = vector_matrix(conn, """
            SELECT e.product_id, p.title, p.brand, p.category_path, p.category, e.embedding
            FROM product_embeddings e JOIN products p USING (product_id)
            ORDER BY e.product_id
            """)
        folder = settings.data_dir() / "catalog_index"
        index = CatalogIndex(frame["product_id"].tolist(), frame["title"].tolist(),
                             vectors if len(frame) else np.zeros((0, 1), np.float32),
                             [category_words(path) for path in frame["category_path"]],
                             [None if pd.isna(b) else b for b in frame["brand"]],
                             frame["category_path"].tolist(), frame["category"].tolist(),
                             index_path=folder / f"{version}.usearch")
        _LATEST_INDEX.version, _LATEST_INDEX.index = version, index
        for stale in sorted(folder.glob("*.usearch"), key=lambda p: p.stat().st_mtime, reverse=True)[KEPT_INDEX_FILES:]:
            for file in index_files(stale):
                file.unlink(missing_ok=True)  # a reader that mapped it keeps its mapping
        return index


def known_concept_ids(conn) -> dict[tuple[str, str], str]:
    """(kind, concept key) -> concept_id for every surface form the `concepts` table holds, so
    a concept named again (by a cluster, by a co-purchase's interpretation) is the same node."""
    known = {}
    for cid, kind, forms in conn.execute("SELECT concept_id, kind, surface_forms FROM concepts").fetchall():
        for form in forms:
            known[(kind, concept_key(form))] = cid
    return known


class ResolutionRunConfig(dg.Config):
    product_threshold: float = Field(default=ResolutionConfig().product_threshold,
                                     description="score (0-1) needed to link a product")
    min_margin: float = Field(default=ResolutionConfig().min_margin,
                              description="lead over the runner-up needed to link (else ambiguous)")
    concept_merge_ratio: float = Field(default=ResolutionConfig().concept_merge_ratio,
                                       description="rapidfuzz ratio (0-100) at which two concept keys merge")
    top_k: int = Field(default=ResolutionConfig().top_k, description="candidates per index and mention")


def break_ties(conn, heads: list[str | None], links: list[ProductLink],
               settings: ResolutionConfig | None = None) -> list[ProductLink]:
    """Settle ambiguous links with the head's behaviour (core.resolve.break_ties_by_behaviour)."""
    settings = settings or ResolutionConfig()
    pairs = pd.DataFrame([(head, c["product_id"]) for head, link in zip(heads, links) if head
                          for c in tied_candidates(link, settings)], columns=["head_id", "tail_id"])
    if pairs.empty:
        return links
    shared = {(r.head_id, r.tail_id): int(r.support) for r in behaviour_for_pairs(conn, pairs).itertuples(index=False)}
    return [break_ties_by_behaviour(head, link, shared, settings) for head, link in zip(heads, links)]


@dg.multi_asset(
    group_name="resolution",
    partitions_def=category_partitions,
    pool="duckdb",
    specs=[
        dg.AssetSpec("resolved_relations", kinds={"duckdb", "usearch"},
                     deps=[llm_relations, product_embeddings, interactions],
                     description="Every LLM relation with its tail linked to a catalog product (ANN + "
                     "lexical + head affinity; ties between listings settled by what customers bought with the "
                     "head), a canonical concept, or left unresolved — with the score, the reason and the top "
                     "candidates."),
        dg.AssetSpec("concepts", kinds={"duckdb"}, deps=[llm_relations],
                     description="Canonical concept nodes (occasions, audiences, usages) with every "
                     "surface form merged into them."),
    ],
)
def resolution(context: dg.AssetExecutionContext, config: ResolutionRunConfig, embedder: EmbedderResource,
               warehouse: WarehouseResource):
    category = context.partition_key
    settings = ResolutionConfig(product_threshold=config.product_threshold, min_margin=config.min_margin,
                                concept_merge_ratio=config.concept_merge_ratio, top_k=config.top_k)
    with warehouse.connect() as conn:
        relations = conn.execute("SELECT * FROM llm_relations WHERE category = ?", [category]).df()
        index = load_catalog_index(conn)
        is_concept = relations["tail_kind"] == "concept"

        # Concepts: canonical nodes over this partition's surface forms.
        concept_mentions = [
            (CONCEPT_KIND_BY_RELATION.get(rel, "concept"), mention)
            for rel, mention in zip(relations.loc[is_concept, "relation"], relations.loc[is_concept, "tail_mention"])
        ]
        surface_to_id, nodes = canonicalise_concepts(concept_mentions, settings.concept_merge_ratio)

        # Products: embed each distinct mention once, search the whole catalog.
        product_part = relations[~is_concept]
        distinct = sorted(set(product_part["tail_mention"]))
        vectors, encoded = embedder.encode_cached(conn, distinct, log=context.log, what="mentions")
        mention_vectors = dict(zip(distinct, vectors))
        links = resolve_product_mentions(
            list(zip(product_part["head_id"], product_part["tail_mention"])), mention_vectors, index, settings
        )
        ambiguous_before = sum(map(is_ambiguous, links))
        links = break_ties(conn, list(product_part["head_id"]), links, settings)
        settled = ambiguous_before - sum(map(is_ambiguous, links))
        context.log.info(f"resolution: {settled} of {ambiguous_before} ambiguous mentions settled by behaviour")

        resolved = relations.drop(columns=["extracted_at"]).copy()
        resolved["decision"] = "concept"
        resolved["tail_id"] = None
        resolved["resolution_score"] = 1.0
        resolved["resolution_reason"] = ""
        resolved["candidates"] = None
        for row_index, (rel, mention) in zip(resolved.index[is_concept],
                                             zip(resolved.loc[is_concept, "relation"], resolved.loc[is_concept, "tail_mention"])):
            cid = surface_to_id[(CONCEPT_KIND_BY_RELATION.get(rel, "concept"), mention)]
            resolved.at[row_index, "tail_id"] = cid
            resolved.at[row_index, "resolution_reason"] = f"concept surface form of {cid}"
        for row_index, link in zip(product_part.index, links):
            resolved.at[row_index, "decision"] = link.decision
            resolved.at[row_index, "tail_id"] = link.tail_id
            resolved.at[row_index, "resolution_score"] = link.score
            resolved.at[row_index, "resolution_reason"] = link.reason
            resolved.at[row_index, "candidates"] = candidates_json(link.candidates)

        concepts = pd.DataFrame(
            [{"category": category, "concept_id": n.concept_id, "kind": n.kind, "canonical_name": n.canonical_name,
              "surface_forms": n.surface_forms, "mention_count": n.mention_count} for n in nodes],
            columns=["category", "concept_id", "kind", "canonical_name", "surface_forms", "mention_count"],
        )
        replace_partition(conn, "resolved_relations", resolved, category)
        replace_partition(conn, "concepts", concepts, category)

    merged = concepts[concepts["surface_forms"].map(len) > 1]
    yield dg.MaterializeResult(asset_key="resolved_relations", metadata={
        "dagster/row_count": len(resolved),
        "decisions": counts_table(resolved["decision"], "decision"),
        "distinct_product_mentions": len(distinct),
        "mentions_embedded_now": encoded,
        "ambiguous_settled_by_behaviour": settled,
        "catalog_index_size": len(index.product_ids),
        "unresolved_examples": preview(resolved[resolved["decision"] == "unresolved"],
                                       ["head_id", "tail_mention", "resolution_reason"]),
        "linked_examples": preview(resolved[resolved["decision"] == "product"],
                                   ["head_id", "tail_mention", "tail_id", "resolution_score"]),
    })
    yield dg.MaterializeResult(asset_key="concepts", metadata={
        "dagster/row_count": len(concepts),
        "surface_forms": int(concepts["surface_forms"].map(len).sum()) if len(concepts) else 0,
        "merged_nodes": len(merged),
        "merged_examples": preview(merged.assign(forms=merged["surface_forms"].map(" / ".join)),
                                   ["canonical_name", "forms"]),
    })


class DuplicateConfig(dg.Config):
    min_cosine: float = Field(default=0.95, description="embedding cosine at which two listings may be one item")
    min_title_ratio: float = Field(default=90.0, description="rapidfuzz token_sort_ratio (0-100) of the titles")


@dg.asset(
    group_name="resolution",
    partitions_def=category_partitions,
    deps=[product_embeddings],
    kinds={"duckdb", "usearch"},
    pool="duckdb",
    description="Products of this category that look like another listing of the same item anywhere in the "
    "catalog (near-identical embedding and title, compatible brand). Reported for review, never merged.",
)
def product_duplicates(context: dg.AssetExecutionContext, config: DuplicateConfig,
                       warehouse: WarehouseResource) -> dg.MaterializeResult:
    category = context.partition_key
    with warehouse.connect() as conn:
        index = load_catalog_index(conn)
        mine = [row[0] for row in conn.execute("SELECT product_id FROM products WHERE category = ?", [category]).fetchall()]
        positions = [index._position[pid] for pid in mine if pid in index._position]
        pairs = find_duplicate_products(index, positions, config.min_cosine, config.min_title_ratio)
        frame = pd.DataFrame(
            [{"category": category, **pair.__dict__} for pair in pairs],
            columns=["category", "product_id", "duplicate_of", "cosine", "title_similarity", "reason"],
        )
        replace_partition(conn, "product_duplicates", frame, category)
    if len(frame):
        context.log.warning(f"{len(frame)} possible duplicate listings in {category!r}; see product_duplicates")
    titled = frame.assign(title=[index.title_of(p) for p in frame["product_id"]],
                          duplicate_title=[index.title_of(p) for p in frame["duplicate_of"]])
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(frame),
        "products_checked": len(positions),
        "pairs": preview(titled, ["title", "duplicate_title", "cosine", "title_similarity"]),
    })
