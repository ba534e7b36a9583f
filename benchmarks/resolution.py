"""Entity resolution at catalog scale on ../shared/data/amazon-beauty.

    .venv/bin/python benchmarks/resolution.py                 # 1,000,000 occurrences
    .venv/bin/python benchmarks/resolution.py --occurrences 200000

Mentions are derived from every Beauty title the way an LLM writes them (exact, without
brand, abbreviated, reordered, plural, typo'd, bare product type; core/resolution_eval.py),
plus extra typo'd forms, to about 100,000 distinct surface forms; 1,000,000 occurrences are
drawn from them with a Zipf-like skew (LLM output repeats itself). Each distinct form is
embedded and resolved once, then mapped back to its occurrences.

Two catalogs: the 12,084 Beauty products, and 60,000 products (Beauty plus generated
variants of each title: sizes, packs, refills, "travel size"). Both runs share the
mention embeddings (the encoder's cost does not depend on the catalog) and report it apart.
Ends with `key: value` lines.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import SHARED_DATA, machine, peak_rss_mb  # noqa: E402

BEAUTY = SHARED_DATA / "amazon-beauty"
VARIANT_SUFFIXES = [" - Travel Size", " (Pack of 2)", ", Refill", " Value Set", " - Limited Edition"]


def variants(products, target: int):
    """Extra products derived from real titles until the catalog holds `target`."""
    import pandas as pd

    rows, i = [], 0
    base = products.to_dict("records")
    while len(products) + len(rows) < target:
        row = base[i % len(base)]
        suffix = VARIANT_SUFFIXES[(i // len(base)) % len(VARIANT_SUFFIXES)]
        rows.append({**row, "product_id": f"{row['product_id']}-V{i // len(base)}", "title": row["title"] + suffix})
        i += 1
    return pd.concat([products, pd.DataFrame(rows)], ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--occurrences", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, default=100_000)
    parser.add_argument("--large-catalog", type=int, default=60_000)
    args = parser.parse_args(argv)
    if not BEAUTY.exists():
        print(f"skipped: {BEAUTY} is absent")
        return 0

    import numpy as np

    import pkg_assets  # noqa: F401
    from pkg_assets.core import catalog as core_catalog
    from pkg_assets.core.resolution_eval import (
        build_labelled_set, concept_mentions, concept_merge_scores, derive_mentions, score,
    )
    from pkg_assets.core.resolve import (
        CatalogIndex, ResolutionConfig, canonicalise_concepts, category_words, product_embedding_text,
        resolve_product_mentions,
    )
    from pkg_assets.resources.embedder import EmbedderResource

    source = core_catalog.resolve_source(BEAUTY)
    beauty = core_catalog.load_products(source).products
    embedder = EmbedderResource()

    # Labelled mentions from every product, topped up with extra typo'd forms.
    labelled = build_labelled_set(beauty, len(beauty), seed=0)
    rng = random.Random(1)
    seen = {m.mention for m in labelled}
    rows = beauty.to_dict("records")
    while len(seen) < args.distinct:
        row = rows[rng.randrange(len(rows))]
        for m in derive_mentions(row["product_id"], row["title"], row["brand"], row["category_path"], rng):
            if m.kind == "typo" and m.mention not in seen:
                labelled.append(m)
                seen.add(m.mention)
    by_form = {}
    for m in labelled:
        by_form.setdefault(m.mention, m)
    distinct = sorted(by_form)
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(distinct))]
    order = list(range(len(distinct)))
    rng.shuffle(order)
    occurrences = rng.choices([distinct[i] for i in order], weights=weights, k=args.occurrences)
    print(f"{len(occurrences)} occurrences of {len(distinct)} distinct forms", flush=True)

    started = time.perf_counter()
    unique = sorted(set(occurrences))
    dedupe_s = time.perf_counter() - started
    started = time.perf_counter()
    mention_vectors = dict(zip(unique, embedder.encode(unique)))
    encode_s = time.perf_counter() - started
    print(f"encoded {len(unique)} distinct mentions in {encode_s:.1f}s ({len(unique) / encode_s:.0f}/s)", flush=True)

    figures = {}
    for label, catalog in (("12k", beauty), ("60k", variants(beauty, args.large_catalog))):
        started = time.perf_counter()
        vectors = embedder.encode([product_embedding_text(t, p) for t, p in zip(catalog["title"], catalog["category_path"])])
        embed_s = time.perf_counter() - started
        started = time.perf_counter()
        index = CatalogIndex(catalog["product_id"].tolist(), catalog["title"].tolist(), np.asarray(vectors),
                             [category_words(p) for p in catalog["category_path"]],
                             [b if isinstance(b, str) else None for b in catalog["brand"]])
        index_s = time.perf_counter() - started
        started = time.perf_counter()
        links = resolve_product_mentions([(None, m) for m in unique], mention_vectors, index, ResolutionConfig())
        resolve_s = time.perf_counter() - started
        link_of = dict(zip(unique, links))
        resolved_occurrences = [link_of[m].decision for m in occurrences]  # map back: every occurrence answered
        total_s = dedupe_s + encode_s + resolve_s
        evaluated = [by_form[m] for m in unique]
        leaf_of = dict(zip(catalog["product_id"], catalog["category_path"].str.split(">").str[-1].str.strip()))
        quality = score(evaluated, [(link_of[m.mention].decision, link_of[m.mention].tail_id) for m in evaluated], leaf_of)
        figures[label] = {"products": len(catalog), "embed_s": embed_s, "index_s": index_s, "resolve_s": resolve_s,
                          "total_s": total_s, "per_s": len(occurrences) / total_s, **quality,
                          "linked_share": sum(d == "product" for d in resolved_occurrences) / len(occurrences)}
        print(f"{label}: {len(catalog)} products; embed {embed_s:.0f}s, index {index_s:.1f}s, resolve {resolve_s:.1f}s; "
              f"exact {quality['exact_top1']:.3f} derived {quality['derived_top1']:.3f} "
              f"precision {quality['product_precision']:.3f}", flush=True)

    surface_to_id, _ = canonicalise_concepts(concept_mentions())
    concepts = concept_merge_scores(surface_to_id)
    small, large = figures["12k"], figures["60k"]
    print(f"machine: {machine()}")
    print(f"occurrences: {len(occurrences)}")
    print(f"distinct_forms: {len(unique)}")
    print(f"mention_encode_s: {encode_s:.1f}")
    for label in ("12k", "60k"):
        f = figures[label]
        print(f"catalog_{label}_products: {f['products']}")
        print(f"catalog_{label}_embed_s: {f['embed_s']:.1f}")
        print(f"catalog_{label}_index_s: {f['index_s']:.1f}")
        print(f"resolve_{label}_s: {f['resolve_s']:.1f}")
        print(f"exact_top1_{label}: {f['exact_top1']:.4f}")
        print(f"derived_top1_{label}: {f['derived_top1']:.4f}")
        print(f"product_precision_{label}: {f['product_precision']:.4f}")
    print(f"resolve_60k_over_12k: {large['resolve_s'] / small['resolve_s']:.2f}")
    print(f"total_60k_over_12k: {large['total_s'] / small['total_s']:.2f}")
    print(f"products_60k_over_12k: {large['products'] / small['products']:.2f}")
    print(f"concept_merge_recall: {concepts['concept_merge_recall']:.4f}")
    print(f"exact_top1: {small['exact_top1']:.4f}")
    print(f"derived_top1: {small['derived_top1']:.4f}")
    print(f"product_precision: {small['product_precision']:.4f}")
    print(f"concept_merge_precision: {concepts['concept_merge_precision']:.4f}")
    print(f"mentions_per_s_12k: {small['per_s']:.0f}")
    print(f"mentions_per_s_60k: {large['per_s']:.0f}")
    print(f"peak_rss_mb: {peak_rss_mb():.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
