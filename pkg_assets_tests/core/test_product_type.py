"""Product types, audiences and line words: the vocabulary resolution and the gate share."""

import pytest

from pkg_assets.core.product_type import (
    TypeLexicon,
    audience_of,
    audiences_compatible,
    compatible,
    line_words,
    product_audience,
)

LEXICON = TypeLexicon.from_categories(["Beauty > Fragrance > Women's > Eau de Parfum",
                                       "Beauty > Hair Care > Styling Tools > Hair Dryers",
                                       "Beauty > Skin Care > Face"])


@pytest.mark.parametrize("text, expected", [
    ("Believe by Britney Spears for Women - 3.3 oz EDP Spray", "eau de parfum"),
    ("Lancome Tresor shower gel", "shower gel"),
    ("Britney Spears Believe body lotion", "body lotion"),
    ("Ralph Lauren Romance Perfume Body Lotion", "body lotion"),       # the specific type beats "perfume"
    ("Eau de Toilette Spray 3.4 oz + Body Lotion Gift Set", "gift set"),  # a bundle is a set
    ("travel perfume atomizer", "atomizer"),
    ("glass roll-on bottles for perfume oil", "atomizer"),             # what follows "for" is the use
    ("Curve by Liz Claiborne for Men. Cologne Spray 4.2 oz", "cologne"),
    ("Margot Elena Kabuki, 1 Fluid Ounce", ""),                        # a size is no type
    ("Conair Ionic Hair Dryer", "hair dryer"),                         # learnt from a category leaf
    ("Viktor & Rolf Flowerbomb", ""),
])
def test_type_of_a_title_or_mention(text, expected):
    assert LEXICON.of_text(text).name == expected


def test_a_title_without_a_type_takes_its_category_leaf():
    kind = LEXICON.of_product("Tokyo Milk Kabuki, 1 Fluid Ounce", "Beauty > Fragrance > Women's > Eau de Parfum")
    assert kind.name == "eau de parfum"
    # ... but a title that names its type wins over a wrong leaf.
    assert LEXICON.of_product("Tresor by Lancome Deodorant Spray", "Beauty > Fragrance > Eau de Parfum").name == "deodorant"


def test_concentrations_are_variants_other_types_are_not():
    edp, edt = LEXICON.of_text("Believe eau de parfum"), LEXICON.of_text("Believe EDT")
    lotion, untyped = LEXICON.of_text("Believe body lotion"), LEXICON.of_text("Believe")
    assert compatible(edp, edt) and compatible(LEXICON.of_text("Believe perfume"), edt)
    assert not compatible(lotion, edp) and not compatible(LEXICON.of_text("travel atomizer"), edt)
    assert compatible(untyped, lotion)  # an unknown type constrains nothing here
    assert compatible(LEXICON.of_text("ylang ylang essential oil"), LEXICON.of_text("Ylang Ylang Oil"))


@pytest.mark.parametrize("text, audience", [
    ("Polo by Ralph Lauren for Men", "men"), ("Hugo Woman by Hugo Boss", "women"), ("Bvlgari Pour Homme", "men"),
    ("CK One unisex", "unisex"), ("for men and women", "unisex"), ("Chanel No. 5", ""),
])
def test_audience(text, audience):
    assert audience_of(text) == audience


def test_audience_from_the_path_when_the_title_is_silent():
    assert product_audience("Angel Eau de Parfum", "Beauty > Fragrance > Women's > Eau de Parfum") == "women"
    assert not audiences_compatible("men", "women") and audiences_compatible("men", "unisex")
    assert audiences_compatible("", "women")


def test_line_words_drop_brand_type_size_and_packaging():
    assert line_words("Britney Spears Fantasy eau de parfum", "Britney Spears", LEXICON) == ["fantasy"]
    assert line_words("Midnight Fantasy By Britney Spears For Women. Eau De Parfum Spray 3.3 Oz",
                      "Britney Spears", LEXICON) == ["midnight", "fantasy"]
    assert line_words("Carolina Herrera 212 VIP Men", "Carolina Herrera", LEXICON) == ["212", "vip", "men"]
    assert line_words("Polo by Ralph Lauren for Men, 4 oz", "Ralph Lauren", LEXICON) == ["polo"]


def test_the_maker_after_by_is_no_part_of_the_line():
    # One listing lacks a brand field: without dropping the maker, the two would be two lines.
    edp = line_words("Shalimar By Guerlain For Women. Eau De Parfum Spray 2.5 Oz.", None, LEXICON, drop_maker=True)
    edc = line_words("Shalimar By Guerlain For Women. Eau De Cologne Spray", "Guerlain", LEXICON, drop_maker=True)
    assert edp == edc == ["shalimar"]
    flanker = line_words("Midnight Fantasy By Britney Spears for Women", None, LEXICON, drop_maker=True)
    assert flanker == ["midnight", "fantasy"]


def test_plural_category_leaves_become_the_singular_types_titles_contain():
    """"Cases" was read as the type "cas" (no title contains it), so a phone case had no type
    and the gate let "a phone case is a substitute for a power bank" through."""
    from pkg_assets.core.product_type import _singular

    assert [_singular(w) for w in ("cases", "vases", "roses", "glasses", "brushes", "boxes", "watches", "polishes",
                                   "lashes", "batteries", "tents")] == [
        "case", "vase", "rose", "glass", "brush", "box", "watch", "polish", "lash", "battery", "tent"]
    lexicon = TypeLexicon.from_categories(["Store > Phones & Accessories > Cases",
                                           "Store > Beauty > Tools > Makeup Brushes"])
    assert lexicon.of_product("Pixelon 8a Rugged Case, Black", "Store > Phones & Accessories > Cases").name == "case"
