"""Resolution agrees on product type, audience and line, and treats variants as one product.

Hand-written catalog in the shape of real fragrance listings (titles invented here); each
case failed before resolution knew product types.
"""

import json

import pytest

from pkg_assets.core.resolve import CatalogIndex, ResolutionConfig, product_embedding_text, resolve_product_mentions

PATH = "Beauty > Fragrance > Women's > Eau de Parfum"
CATALOG = [
    ("F1", "Believe by Britney Spears for Women, Eau de Parfum Spray, 3.3 Ounce", "Britney Spears", PATH),
    ("F2", "Believe by Britney Spears for Women, Eau de Parfum Spray, 1 Ounce", "Britney Spears", PATH),
    ("F3", "Fantasy by Britney Spears for Women, Eau de Parfum Spray, 3.3 Ounce", "Britney Spears", PATH),
    ("F4", "Midnight Fantasy by Britney Spears for Women, Eau de Parfum Spray, 3.3 Ounce", "Britney Spears", PATH),
    ("F5", "Curious by Britney Spears for Women, Body Lotion, 6.8 Ounce", "Britney Spears",
     "Beauty > Fragrance > Women's > Body Lotions"),
    ("F6", "Guilty by Gucci for Women, Eau de Toilette Spray, 2.5 Ounce", "Gucci", PATH),
    ("F7", "Gucci Guilty Men Eau de Toilette Spray, 1.6 Ounce", "Gucci", "Beauty > Fragrance > Men's > Eau de Toilette"),
    ("F8", "Chloe Eau de Parfum Spray for Women, 2.5 Ounce", "Chloe", PATH),
    ("F9", "Silver Metallic Perfume Atomizer Spray 10 ML Refillable", None, PATH),
    ("F10", "Heat by Beyonce for Women, Eau de Parfum Spray, 3.4 Ounce", "Beyonce", PATH),
]


@pytest.fixture(scope="module")
def index_and_embedder():
    from pkg_assets.resources.embedder import EmbedderResource

    embedder = EmbedderResource()
    vectors = embedder.encode([product_embedding_text(t, p) for _, t, _, p in CATALOG])
    index = CatalogIndex([c[0] for c in CATALOG], [c[1] for c in CATALOG], vectors, [p for *_, p in CATALOG],
                         [c[2] for c in CATALOG], [c[3] for c in CATALOG], ["Fragrance"] * len(CATALOG))
    return index, embedder


def resolve(index_and_embedder, pairs):
    index, embedder = index_and_embedder
    mentions = [m for _, m in pairs]
    vectors = dict(zip(mentions, embedder.encode(mentions)))
    return resolve_product_mentions(pairs, vectors, index, ResolutionConfig())


def test_a_mention_of_another_type_is_not_linked_to_the_line(index_and_embedder):
    body_lotion, shower_gel = resolve(index_and_embedder, [("F3", "Britney Spears Believe body lotion"),
                                                           ("F3", "Gucci Guilty shower gel")])
    assert body_lotion.decision == "unresolved" and "type" in body_lotion.reason
    assert shower_gel.decision == "unresolved"


def test_a_flanker_is_another_line(index_and_embedder):
    fantasy, heat_rush = resolve(index_and_embedder, [("F1", "Britney Spears Fantasy eau de parfum"),
                                                      ("F1", "Beyonce Heat Rush")])
    assert fantasy.tail_id == "F3"  # not Midnight Fantasy
    assert heat_rush.decision == "unresolved"  # the catalog has Heat, not Heat Rush


def test_another_line_of_the_brand_is_not_linked(index_and_embedder):
    (link,) = resolve(index_and_embedder, [("F6", "Chloe L'Eau de Chloe")])
    assert link.decision == "unresolved" and "line" in link.reason


def test_sizes_of_one_product_are_one_product_not_an_ambiguity(index_and_embedder):
    (link,) = resolve(index_and_embedder, [("F3", "Britney Spears Believe eau de toilette")])
    assert link.tail_id in {"F1", "F2"}  # EDT said, EDP listed: concentrations are variants
    assert "variants of one product" in link.reason or "margin" in link.reason


def test_a_mention_without_audience_takes_the_heads(index_and_embedder):
    (link,) = resolve(index_and_embedder, [("F8", "Gucci Guilty eau de parfum")])
    assert link.tail_id == "F6"  # the women's Guilty, never Guilty Men for a women's head


def test_scores_stay_in_their_documented_range(index_and_embedder):
    links = resolve(index_and_embedder, [("F3", "Believe by Britney Spears for Women Eau de Parfum Spray 3.3 Ounce"),
                                         ("F1", "travel perfume atomizer")])
    assert all(0.0 <= c["score"] <= 1.0 for link in links for c in link.candidates)
    assert links[1].tail_id == "F9"


def test_a_generic_mention_names_its_kind_by_every_word():
    """Kinds of thing are named in plain words: a listing lacking one of them (or carrying a
    look-alike: 'shading' for 'shaving') is another kind. Size or praise words don't count."""
    from pkg_assets.resources.embedder import EmbedderResource

    catalog = [
        ("T1", "Real Shading Brush for Contour, 1.6 Ounce", None, "Beauty > Tools > Brushes"),
        ("T2", "Summer Breeze Feminine Deodorant Powder, 8 Ounce", None, "Beauty > Bath > Deodorants"),
        ("T3", "Silver Metallic Perfume Atomizer Spray 10 ML Refillable", None, PATH),
        ("T4", "Classic Badger Hair Shaving Brush with Stand", None, "Beauty > Shave > Brushes"),
    ]
    embedder = EmbedderResource()
    vectors = embedder.encode([product_embedding_text(t, p) for _, t, _, p in catalog])
    index = CatalogIndex([c[0] for c in catalog], [c[1] for c in catalog], vectors, [p for *_, p in catalog],
                         [c[2] for c in catalog], [c[3] for c in catalog], ["Beauty"] * len(catalog))
    mentions = ["cream deodorant", "deodorant powder", "travel perfume atomizer", "shaving brush"]
    links = resolve_product_mentions([(None, m) for m in mentions], dict(zip(mentions, embedder.encode(mentions))),
                                     index, ResolutionConfig())
    by_mention = dict(zip(mentions, links))
    assert by_mention["cream deodorant"].tail_id is None
    assert "kind: title lacks 'cream'" in json.dumps(by_mention["cream deodorant"].candidates)
    assert by_mention["deodorant powder"].tail_id == "T2"
    assert by_mention["travel perfume atomizer"].tail_id == "T3"  # 'travel' is a size, not a kind
    assert by_mention["shaving brush"].tail_id == "T4"  # never the shading brush
    shading = next(c for c in by_mention["shaving brush"].candidates if c["product_id"] == "T1")
    assert any("lacks 'shaving'" in conflict for conflict in shading["conflicts"])
