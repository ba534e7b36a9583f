"""Embedding throughput on this CPU, the cost of a million products, and the int8 encoder's
speed and quality side by side with the default float32 one.

    .venv/bin/python benchmarks/embedding.py [--throughput-texts 3000]

For each encoder (MiniLM float32, and the same model with torch's int8 dynamic quantisation,
`PKG_EMBEDDER_INT8=1`): titles per second on amazon-beauty titles (after a warm-up batch),
the hours 1,000,000 product titles would take, and resolution quality with that encoder's
vectors for the whole catalog and the mentions:

- `labelled_*`: the real LLM mentions of Fragrance that people labelled
  (pkg_assets_tests/fixtures/fragrance_labels/resolution.csv; core/label_eval.py): precision
  of the links, recall of nameable mentions;
- `derived_*`: mentions derived from 300 Beauty titles (core/resolution_eval.py: exact titles,
  brand-less, reordered, plural, typo'd, bare types): top-1 and product precision.

No threshold is tuned here: both encoders run with the resolver's defaults. Behaviour
tie-breaks are not applied (both encoders alike). Skips when amazon-beauty is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import BEAUTY, PROJECT_DIR, machine  # noqa: E402

LABELS = PROJECT_DIR / "pkg_assets_tests" / "fixtures" / "fragrance_labels"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--throughput-texts", type=int, default=3000)
    args = parser.parse_args()
    if not (BEAUTY / "products.csv").exists():
        print(f"skipped: {BEAUTY} is absent")
        return 0

    import numpy as np

    from pkg_assets.core import catalog as core_catalog
    from pkg_assets.core.label_eval import load_labels, resolution_scores
    from pkg_assets.core.resolution_eval import DERIVED_KINDS, build_labelled_set, score
    from pkg_assets.core.resolve import (CatalogIndex, ResolutionConfig, category_words, product_embedding_text,
                                         resolve_product_mentions)
    from pkg_assets.resources.embedder import EmbedderResource

    products = core_catalog.load_products(core_catalog.resolve_source(BEAUTY)).products
    texts = [product_embedding_text(t, p) for t, p in zip(products["title"], products["category_path"])]
    labels, _ = load_labels(LABELS)
    derived = build_labelled_set(products, 300, seed=1)
    leaf_of = dict(zip(products["product_id"], products["category_path"].str.split(">").str[-1].str.strip()))
    figures: dict[str, float] = {}
    catalog_vectors = {}
    for name, embedder in (("fp32", EmbedderResource()), ("int8", EmbedderResource(int8=True))):
        embedder.encode(texts[:64])  # load and warm up
        sample = texts[:args.throughput_texts]
        started = time.perf_counter()
        embedder.encode(sample)
        rate = len(sample) / (time.perf_counter() - started)
        figures[f"{name}_titles_per_s"] = round(rate, 1)
        figures[f"{name}_hours_per_1m_titles"] = round(1_000_000 / rate / 3600, 2)
        print(f"{name}: {rate:.0f} titles/s; 1M titles in {1_000_000 / rate / 3600:.1f} h", flush=True)

        vectors = embedder.encode(texts)
        catalog_vectors[name] = vectors
        index = CatalogIndex(products["product_id"].tolist(), products["title"].tolist(), vectors,
                             [category_words(p) for p in products["category_path"]],
                             [b if isinstance(b, str) else None for b in products["brand"]],
                             products["category_path"].tolist(), products["category"].tolist())
        mentions = sorted(set(labels["mention"]) | {m.mention for m in derived})
        mention_vectors = dict(zip(mentions, embedder.encode(mentions)))
        config = ResolutionConfig()
        links = resolve_product_mentions(list(zip(labels["head_id"], labels["mention"])), mention_vectors, index,
                                         config)
        linked = labels.assign(tail_mention=labels["mention"], decision=[link.decision for link in links],
                               tail_id=[link.tail_id for link in links])
        real = resolution_scores(linked[["head_id", "relation", "tail_mention", "decision", "tail_id"]], labels)
        figures[f"{name}_labelled_precision"] = round(real["precision"], 4)
        figures[f"{name}_labelled_recall"] = round(real["recall"], 4)
        figures[f"{name}_labelled_linked"] = real["linked"]
        made = resolve_product_mentions([(None, m.mention) for m in derived], mention_vectors, index, config)
        scores = score(derived, [(link.decision, link.tail_id) for link in made], leaf_of)
        figures[f"{name}_derived_exact_top1"] = round(scores["exact_top1"], 4)
        figures[f"{name}_derived_top1"] = round(float(np.mean([scores[f"top1_{k}"] for k in DERIVED_KINDS])), 4)
        figures[f"{name}_derived_product_precision"] = round(scores["product_precision"], 4)
        print(f"{name}: labelled precision {real['precision']:.3f} recall {real['recall']:.3f} "
              f"({real['linked']} linked); derived top-1 {figures[f'{name}_derived_top1']:.3f}, "
              f"precision {scores['product_precision']:.3f}", flush=True)

    agreement = np.sum(catalog_vectors["fp32"] * catalog_vectors["int8"], axis=1)
    figures["int8_vs_fp32_mean_cosine"] = round(float(agreement.mean()), 4)
    figures["int8_vs_fp32_min_cosine"] = round(float(agreement.min()), 4)
    figures["int8_speedup"] = round(figures["int8_titles_per_s"] / figures["fp32_titles_per_s"], 2)
    print(f"machine: {machine()}")
    for key, value in figures.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
