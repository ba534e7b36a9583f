import numpy as np
import pytest

from pkg_assets.core.resolve import (
    CatalogIndex, ResolutionConfig, canonicalise_concepts, category_words, concept_key, product_embedding_text,
    resolve_product_mentions,
)


@pytest.mark.parametrize("a, b", [
    ("Mother's Day", "mothers day gift"),
    ("Valentine's Day", "valentines day"),
    ("hikers", "Hiker"),
    ("back-to-school", "back to school"),
])
def test_surface_forms_share_a_concept_key(a, b):
    assert concept_key(a) == concept_key(b)


def test_canonicalise_merges_variants_into_one_node_with_all_forms():
    mentions = [("occasion", "Mother's Day")] * 3 + [("occasion", "mothers day gift"), ("occasion", "Mothers-Day"),
                                                     ("occasion", "birthday"), ("audience", "mothers")]
    surface_to_id, nodes = canonicalise_concepts(mentions)
    mothers_day = surface_to_id[("occasion", "Mother's Day")]
    assert surface_to_id[("occasion", "mothers day gift")] == mothers_day
    assert surface_to_id[("occasion", "Mothers-Day")] == mothers_day
    assert surface_to_id[("occasion", "birthday")] != mothers_day
    node = next(n for n in nodes if n.concept_id == mothers_day)
    assert node.canonical_name == "Mother's Day" and node.mention_count == 5
    assert surface_to_id[("audience", "mothers")].startswith("concept:audience:")


@pytest.fixture(scope="module")
def small_index():
    from pkg_assets.resources.embedder import EmbedderResource

    embedder = EmbedderResource()
    catalog = [
        ("P1", "Nova X5 Smartphone, 128GB, Unlocked", "Store > Phones > Smartphones"),
        ("P2", "Nova X5 Clear Case with Magnetic Ring", "Store > Phones > Cases"),
        ("P3", "Pixelon 8a Rugged Case, Black", "Store > Phones > Cases"),
        ("P4", "Isobutane Fuel Canister, 8 oz", "Store > Outdoor > Camp Kitchen"),
        ("P5", "Pink Carnation Bouquet, 12 Stems", "Store > Gifts > Fresh Flowers"),
    ]
    vectors = embedder.encode([product_embedding_text(t, p) for _, t, p in catalog])
    return embedder, CatalogIndex([c[0] for c in catalog], [c[1] for c in catalog], vectors,
                                  [category_words(c[2]) for c in catalog])


def test_mentions_link_to_the_right_product_or_stay_unresolved(small_index):
    embedder, index = small_index
    mentions = [("P1", "phone case"), ("P1", "fuel canister"), ("P4", "carnations"), ("P1", "SIM card ejector tool"),
                ("P5", "carnation bouquet")]
    vectors = dict(zip([m for _, m in mentions], embedder.encode([m for _, m in mentions])))
    links = resolve_product_mentions(mentions, vectors, index, ResolutionConfig())
    assert [link.tail_id for link in links[:3]] == ["P2", "P4", "P5"]  # the Nova case: head affinity
    assert links[3].decision == "unresolved" and "no catalog product close enough" in links[3].reason
    assert links[0].candidates[0]["product_id"] == "P2" and len(links[0].candidates) <= 5
    assert links[4].tail_id != "P5"  # a head is never its own tail


def test_empty_index_leaves_everything_unresolved():
    index = CatalogIndex([], [], np.zeros((0, 384), dtype=np.float32))
    links = resolve_product_mentions([("P1", "x")], {"x": np.ones(384, dtype=np.float32)}, index, ResolutionConfig())
    assert links[0].decision == "unresolved"


def test_duplicate_listings_are_reported_not_merged():
    from pkg_assets.core.resolve import find_duplicate_products
    from pkg_assets.resources.embedder import EmbedderResource

    catalog = [
        ("A1", "Agadir Argan Oil Spray Treatment, 5.1-Ounce", "Agadir"),
        ("A2", "Agadir Argan Oil Spray Treatment 5.1oz.", "Agadir"),
        ("A3", "Agadir Argan Oil Hair Shield 450 Plus Spray Treatment", "Agadir"),
        ("A4", "Argan Oil Spray Treatment, 5.1-Ounce", "OtherBrand"),
    ]
    path = "Beauty > Hair Care > Treatments"
    vectors = EmbedderResource().encode([product_embedding_text(t, path) for _, t, _ in catalog])
    index = CatalogIndex([c[0] for c in catalog], [c[1] for c in catalog], vectors, [category_words(path)] * 4,
                         [c[2] for c in catalog])
    pairs = find_duplicate_products(index, list(range(4)))
    assert [(p.product_id, p.duplicate_of) for p in pairs] == [("A2", "A1")]
    assert "same brand" in pairs[0].reason


def test_concept_merging_precision_on_surface_form_variants():
    from pkg_assets.core.resolution_eval import concept_mentions, concept_merge_scores

    surface_to_id, _ = canonicalise_concepts(concept_mentions())
    scores = concept_merge_scores(surface_to_id)
    assert scores["concept_merge_precision"] >= 0.95, scores
    assert scores["concept_merge_recall"] >= 0.9, scores
    assert surface_to_id[("occasion", "Mothers Day gift")] != surface_to_id[("occasion", "Father's Day")]
    assert surface_to_id[("occasion", "CHRISTMAS")] == "concept:occasion:christmas"


def test_ambiguous_listings_are_settled_by_what_customers_bought_with_the_head():
    from pkg_assets.core.resolve import ProductLink, ResolutionConfig, break_ties_by_behaviour

    candidates = [{"product_id": "S12", "title": "Argan Shampoo 12 oz", "score": 0.80},
                  {"product_id": "S24", "title": "Argan Shampoo 24 oz", "score": 0.79},
                  {"product_id": "OIL", "title": "Argan Oil", "score": 0.60}]
    ambiguous = ProductLink("unresolved", None, 0.80, "ambiguous: ...", candidates)
    config = ResolutionConfig()
    settled = break_ties_by_behaviour("COND", ambiguous, {("COND", "S24"): 3, ("COND", "S12"): 1}, config)
    assert settled.decision == "product" and settled.tail_id == "S24" and "3 users" in settled.reason
    # A tie in behaviour, no behaviour, or only an untied candidate with behaviour: still ambiguous.
    assert break_ties_by_behaviour("COND", ambiguous, {("COND", "S24"): 2, ("COND", "S12"): 2}, config) is ambiguous
    assert break_ties_by_behaviour("COND", ambiguous, {}, config) is ambiguous
    assert break_ties_by_behaviour("COND", ambiguous, {("COND", "OIL"): 9}, config) is ambiguous
    linked = ProductLink("product", "S12", 0.9, "best candidate", candidates)
    assert break_ties_by_behaviour("COND", linked, {("COND", "S24"): 5}, config) is linked
