"""Resolution accuracy on labelled mentions derived from real titles (see core/resolution_eval.py).

Targets (issue: entity resolution): exact titles top-1 >= 0.95, derived mentions top-1 >= 0.85,
precision of "product" decisions >= 0.95.
"""

import numpy as np
import pytest

from pkg_assets.core import catalog as core_catalog
from pkg_assets.core.resolution_eval import DERIVED_KINDS, build_labelled_set, score
from pkg_assets.core.resolve import (
    CatalogIndex, ResolutionConfig, category_words, product_embedding_text, resolve_product_mentions,
)
from pkg_assets.settings import DEMO_DIR
from pkg_assets_tests.conftest import BEAUTY, requires


def _evaluate(products, n_sampled: int, seed: int):
    from pkg_assets.resources.embedder import EmbedderResource

    embedder = EmbedderResource()
    vectors = embedder.encode([product_embedding_text(t, p) for t, p in zip(products["title"], products["category_path"])])
    index = CatalogIndex(products["product_id"].tolist(), products["title"].tolist(), np.asarray(vectors),
                         [category_words(p) for p in products["category_path"]],
                         [None if not isinstance(b, str) else b for b in products["brand"]])
    labelled = build_labelled_set(products, n_sampled, seed=seed)
    distinct = sorted({m.mention for m in labelled})
    mention_vectors = dict(zip(distinct, embedder.encode(distinct)))
    links = resolve_product_mentions([(None, m.mention) for m in labelled], mention_vectors, index, ResolutionConfig())
    leaf_of = dict(zip(products["product_id"], products["category_path"].str.split(">").str[-1].str.strip()))
    # Scores stay in their documented range [0, 1] on a whole real catalog (a brand bonus once
    # pushed them to 1.0077, and a critical expectation blocked 4 of 6 Beauty partitions).
    scores = [link.score for link in links] + [c["score"] for link in links for c in link.candidates]
    assert scores and 0.0 <= min(scores) and max(scores) <= 1.0, (min(scores), max(scores))
    return score(labelled, [(link.decision, link.tail_id) for link in links], leaf_of), len(labelled)


def _products(path):
    source = core_catalog.resolve_source(path)
    products = core_catalog.load_products(source).products
    return products


def _assert_targets(figures: dict) -> None:
    assert figures["exact_top1"] >= 0.95, figures
    # "abbreviated" (a title cut after six words) is left out of the derived target: on real
    # LLM answers a mention lacking a listing's extra line words names another line (a
    # flanker: "Fantasy" is not "Midnight Fantasy"), so resolution refuses such links on
    # purpose; the labelled real answers (test_label_eval.py, benchmarks/knowledge.py) judge it.
    kinds = [k for k in DERIVED_KINDS if k != "abbreviated"]
    assert sum(figures[f"top1_{k}"] for k in kinds) / len(kinds) >= 0.85, figures
    assert figures["product_precision"] >= 0.95, figures


def test_demo_catalog_resolution_accuracy():
    figures, n = _evaluate(_products(DEMO_DIR), n_sampled=122, seed=3)
    assert n > 500
    _assert_targets(figures)


@requires(BEAUTY)
@pytest.mark.slow
def test_amazon_beauty_resolution_accuracy():
    figures, n = _evaluate(_products(BEAUTY), n_sampled=300, seed=1)
    assert n > 1500
    _assert_targets(figures)
