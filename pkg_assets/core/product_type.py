"""Product types: what kind of thing a title or an LLM mention names.

Real LLM answers name products by *line and type* ("Britney Spears Believe body lotion",
"travel perfume atomizer", "Lancome Tresor shower gel"). A resolver that matches the line
alone links the body lotion to the eau de parfum of the same line, and a gate that knows
no types lets "the same perfume in another size" pass as a complement. One small module
gives both stages the same answer to "what type is this?".

A type is a canonical name ("body lotion") with a *form*: the group of types that are
variants of one another. Concentrations of one fragrance (eau de parfum, eau de toilette,
cologne, "perfume") share the form `fine fragrance`, so "Believe eau de parfum" and a
Believe EDT listing are one product in two variants; a body lotion is another product.

Where types come from:
- a built-in lexicon of common retail product types and their spellings (`LEXICON`),
  written for beauty and personal care and easy to extend;
- the catalog's own category leaves ("Creams & Moisturizers" -> "cream", "moisturizer"),
  so a catalog of another domain gets types without code (`TypeLexicon.from_categories`).

A title's type is the most specific type phrase it contains (a gift set beats what it
holds; a specific type beats a generic word like "perfume"; a longer phrase beats a
shorter one), else its category leaf's type. A mention's type comes from its text alone;
a mention naming no type ("Viktor & Rolf Flowerbomb") has type "" and constrains nothing.

Written here rather than taken from a library: no maintained package maps retail titles to
product types offline; the lexicon is data and each rule is a documented, tested function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pkg_assets.core.catalog import strip_sizes

# Priority of a type when a title names several (higher wins):
#   3 = a bundle (its contents don't make it a lotion), 2 = a specific type,
#   1 = a generic fragrance word ("perfume", "fragrance", "scent"), which many titles add
#       to a more specific type ("Romance Perfume Body Lotion").
BUNDLE, SPECIFIC, GENERIC = 3, 2, 1

# canonical type -> (form, priority, spellings). Spellings are matched as whole words on the
# normalised text (lower case, "&" kept, other punctuation -> space).
LEXICON: dict[str, tuple[str, int, tuple[str, ...]]] = {
    # fine fragrance: concentrations of one scent are variants of one product
    "eau de parfum": ("fine fragrance", SPECIFIC, ("eau de parfum", "edp", "parfum", "eau de parfume", "extrait de parfum",
                                                    "souffle de parfum", "elixir")),
    "eau de toilette": ("fine fragrance", SPECIFIC, ("eau de toilette", "edt", "eau fraiche", "eau fraîche")),
    "cologne": ("fine fragrance", SPECIFIC, ("cologne", "eau de cologne", "edc")),
    "perfume": ("fine fragrance", GENERIC, ("perfume", "fragrance", "scent")),
    "body spray": ("body spray", SPECIFIC, ("body spray", "body mist", "fragrance mist", "body splash",
                                           "splash", "mist", "fine fragrance mist")),
    "perfume oil": ("perfume oil", SPECIFIC, ("perfume oil", "fragrance oil", "attar", "roll on perfume",
                                             "roll on perfume oil", "roller perfume", "oil roll on")),
    "solid perfume": ("solid perfume", SPECIFIC, ("solid perfume", "perfume balm")),
    "essential oil": ("essential oil", SPECIFIC, ("essential oil", "essential oils", "aromatherapy oil")),
    "body lotion": ("body lotion", SPECIFIC, ("body lotion", "lotion", "body milk", "body cream", "body butter",
                                             "moisturizing lotion", "hand cream", "hand lotion", "body souffle")),
    "shower gel": ("shower gel", SPECIFIC, ("shower gel", "body wash", "shower cream", "bath gel",
                                           "shower oil", "bath and shower gel", "bath & shower gel",
                                           "bubble bath", "bath foam")),
    "soap": ("soap", SPECIFIC, ("soap", "bar soap", "soap bar")),
    "deodorant": ("deodorant", SPECIFIC, ("deodorant", "antiperspirant", "deodorant stick", "deodorant spray",
                                         "deodorant stone", "roll on deodorant")),
    "aftershave": ("aftershave", SPECIFIC, ("aftershave", "after shave", "after shave balm", "aftershave balm",
                                           "after shave lotion", "aftershave lotion", "after shave splash")),
    "shaving cream": ("shaving cream", SPECIFIC, ("shaving cream", "shave cream", "shaving gel", "shave gel",
                                                 "shaving soap")),
    "body powder": ("body powder", SPECIFIC, ("body powder", "dusting powder", "talc", "talcum powder",
                                             "perfumed powder")),
    "hair mist": ("hair mist", SPECIFIC, ("hair mist", "hair perfume")),
    "candle": ("candle", SPECIFIC, ("candle", "candles")),
    "incense": ("incense", SPECIFIC, ("incense", "incense sticks", "incense cones", "incense holder")),
    "diffuser": ("diffuser", SPECIFIC, ("diffuser", "reed diffuser", "oil diffuser", "oil burner")),
    "atomizer": ("atomizer", SPECIFIC, ("atomizer", "atomiser", "refillable spray", "perfume bottle",
                                       "roller bottle", "roll on bottle", "decant", "funnel",
                                       "perfume pump", "roll on perfume bottle", "glass bottle", "refillable bottle",
                                       "empty bottle", "vial")),
    "bag": ("bag", SPECIFIC, ("toiletry bag", "cosmetic bag", "makeup bag", "pouch", "travel case", "organizer",
                             "tray", "display")),
    "gift set": ("gift set", BUNDLE, ("gift set", "set", "coffret", "gift box", "collection", "sampler",
                                     "sample set", "discovery set", "kit", "duo", "trio")),
    "shampoo": ("shampoo", SPECIFIC, ("shampoo",)),
    "conditioner": ("conditioner", SPECIFIC, ("conditioner",)),
    "nail polish": ("nail polish", SPECIFIC, ("nail polish", "nail lacquer", "nail color", "nail colour", "enamel")),
    "lipstick": ("lipstick", SPECIFIC, ("lipstick", "lip color", "lip gloss", "lip balm")),
    "foundation": ("foundation", SPECIFIC, ("foundation",)),
    "mascara": ("mascara", SPECIFIC, ("mascara",)),
    "sunscreen": ("sunscreen", SPECIFIC, ("sunscreen", "sunblock", "spf lotion")),
    "face cream": ("face cream", SPECIFIC, ("face cream", "moisturizer", "night cream", "day cream", "serum")),
    "cleanser": ("cleanser", SPECIFIC, ("cleanser", "face wash", "toner", "facial toner", "micellar water")),
    "mask": ("mask", SPECIFIC, ("mask", "masque")),
    "hair wax": ("hair wax", SPECIFIC, ("hair wax", "pomade")),
    "wax": ("wax", SPECIFIC, ("wax kit", "sugar wax", "beeswax", "wax pellets")),
    "brush": ("brush", SPECIFIC, ("brush", "brushes")),
    # beyond beauty: gifts, home
    "greeting card": ("greeting card", SPECIFIC, ("card", "greeting card", "gift card")),
    "vase": ("vase", SPECIFIC, ("vase", "flower vase")),
}

# Category leaves spelled differently from the lexicon's names.
LEAF_ALIASES: dict[str, str] = {
    "body sprays": "body spray", "body washes": "shower gel", "lotions": "body lotion", "colognes": "cologne",
    "sets": "gift set", "sets & kits": "gift set", "makeup sets": "gift set", "essential oils": "essential oil",
    "soaps": "soap", "hand soaps": "soap", "body butter": "body lotion", "bubble bath": "shower gel",
    "hand creams & lotions": "body lotion", "shampoos": "shampoo", "conditioners": "conditioner",
    "nail polish": "nail polish", "fragrance": "perfume",
}

_AREA_WORDS = {"eyes", "lips", "nails", "hands", "feet", "sports", "accessories", "tools", "combinations",
               "complexes", "highlights", "women", "mens", "womens", "childrens", "fillers", "bars"}
_WORD = re.compile(r"[a-z0-9&]+")
_SPLIT_LEAF = re.compile(r"\s*(?:&|,| and )\s*")


def normalise(text: str | None) -> str:
    """Lower case, accents folded for the common cases, words joined by single spaces."""
    text = (text or "").lower().replace("’", "'").replace("é", "e").replace("è", "e").replace("î", "i")
    text = text.replace("-", " ").replace("'s ", " ").replace("'", "")
    return " ".join(_WORD.findall(text))


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    # "-es" is a plural ending only after a sibilant that needs it (glasses, boxes, brushes,
    # watches); "cases", "vases", "roses" only add "s". (Stripping "es" after any s, x or z made
    # the leaf "Cases" the type "cas", which no title contains.)
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@dataclass(frozen=True)
class ProductType:
    name: str  # canonical type, "" when unknown
    form: str  # variants share a form ("fine fragrance"), "" when unknown

    def __bool__(self) -> bool:
        return bool(self.name)


UNKNOWN = ProductType("", "")


@dataclass
class TypeLexicon:
    """Spellings -> types, matched longest first; extendable with a catalog's category leaves."""

    entries: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # spelling -> (type, form, priority)

    @classmethod
    def default(cls) -> "TypeLexicon":
        lexicon = cls()
        for name, (form, priority, spellings) in LEXICON.items():
            for spelling in (name, *spellings):
                lexicon.entries[normalise(spelling)] = (name, form, priority)
        return lexicon

    @classmethod
    def from_categories(cls, category_paths: list[str | None]) -> "TypeLexicon":
        """The default lexicon plus every category leaf of the catalog as a type of its own
        (unless the lexicon already knows it): "Hair Dryers" -> type "hair dryer"."""
        lexicon = cls.default()
        for path in {p for p in category_paths if p}:
            leaf = leaf_of(path)
            if not leaf or normalise(leaf) in LEAF_ALIASES:
                continue
            for part in _SPLIT_LEAF.split(leaf.lower()):
                words = normalise(part).split()
                # Plural leaves name kinds of product ("Hair Dryers", "Curling Irons"); singular
                # ones and body areas name where a thing goes ("Face", "Makeup", "Eyes").
                if not words or not words[-1].endswith("s") or words[-1] in _AREA_WORDS:
                    continue
                spelling = " ".join(words[:-1] + [_singular(words[-1])])
                if spelling and spelling not in lexicon.entries and len(spelling) >= 3:
                    lexicon.entries[spelling] = (spelling, spelling, SPECIFIC)
        return lexicon

    def __post_init__(self) -> None:
        self._pattern = None

    def _compiled(self) -> re.Pattern:
        """The spelling pattern and each type's priority, rebuilt when entries were added."""
        if self._pattern is None or self._size != len(self.entries):
            spellings = sorted(self.entries, key=len, reverse=True)  # longest first: "body lotion" before "lotion"
            self._pattern = re.compile(r"\b(" + "|".join(re.escape(s) for s in spellings) + r")s?\b")
            self._priority: dict[str, int] = {}
            for name, _, priority in self.entries.values():
                self._priority[name] = max(priority, self._priority.get(name, 0))
            self._size = len(self.entries)
        return self._pattern

    @staticmethod
    def _prepared(text: str | None) -> str:
        # Sizes first: "1 Fluid Ounce" is no fluid, "(Pack of 2)" no pack.
        return normalise(strip_sizes(text or ""))

    def types_in(self, text: str | None) -> list[tuple[int, ProductType]]:
        """Every type phrase in `text`, with its position (word-boundary, longest match)."""
        return self._types_in_prepared(self._prepared(text))

    def _types_in_prepared(self, prepared: str) -> list[tuple[int, ProductType]]:
        found = []
        for match in self._compiled().finditer(prepared):
            name, form, _ = self.entries[match.group(1)]
            found.append((match.start(), ProductType(name, form)))
        return found

    def priority(self, kind: ProductType) -> int:
        self._compiled()
        return self._priority.get(kind.name, 0)

    def of_text(self, text: str | None) -> ProductType:
        """The most specific type `text` names: bundle > specific > generic, then the last one
        (English puts the head noun last: "deodorant body spray", "perfume body lotion").
        What follows "for" describes a use when a type comes before it: "glass roll-on bottles
        for perfume oil" is a bottle; "Curve by Liz Claiborne for Men. Cologne" is a cologne."""
        prepared = self._prepared(text)
        found = self._types_in_prepared(prepared)
        cut = re.search(r"\bfor\b", prepared)
        if cut and any(start < cut.start() for start, _ in found):
            found = [(start, kind) for start, kind in found if start < cut.start()]
        best, best_key = UNKNOWN, (0, -1)
        for start, kind in found:
            key = (self.priority(kind), start)
            if key > best_key:
                best, best_key = kind, key
        return best

    def of_leaf(self, category_path: str | None) -> ProductType:
        leaf = leaf_of(category_path)
        if not leaf:
            return UNKNOWN
        alias = LEAF_ALIASES.get(normalise(leaf))
        if alias:
            form, _, _ = LEXICON[alias]
            return ProductType(alias, form)
        return self.of_text(leaf)

    def of_product(self, title: str | None, category_path: str | None) -> ProductType:
        """A listing's type: its title's, unless the title only has a generic word (or none)
        and the category leaf says more ("Chanel No 5" in "... > Eau de Parfum")."""
        from_title = self.of_text(title)
        if from_title and self.priority(from_title) > GENERIC:
            return from_title
        from_leaf = self.of_leaf(category_path)
        return from_leaf or from_title


def leaf_of(category_path: str | None) -> str:
    parts = [p.strip() for p in (category_path or "").split(">") if p.strip()]
    return parts[-1] if parts else ""


def compatible(mention: ProductType, product: ProductType) -> bool:
    """Can a mention of type `mention` name a listing of type `product`? Unknown on either
    side constrains nothing; otherwise the forms must agree (a variant is the same product),
    or one type must be a kind of the other by its head noun ("essential oil" / "oil").
    A generic fragrance word ("Flowerbomb perfume") accepts any fine-fragrance listing."""
    if not mention or not product:
        return True
    return (mention.form == product.form or mention.name.endswith(" " + product.name)
            or product.name.endswith(" " + mention.name))


# --------------------------------------------------------------------------- audience

_MEN = {"men", "man", "mens", "him", "homme", "male", "boy", "boys", "gentlemen", "gentleman", "masculine", "uomo"}
_WOMEN = {"women", "woman", "womens", "her", "femme", "female", "girl", "girls", "lady", "ladies", "feminine",
          "donna", "pour femme"}
_UNISEX = {"unisex"}


def audience_of(text: str | None) -> str:
    """"men", "women", "unisex" or "" — from audience words in a title, mention or path.

    Both sexes named ("for men and women") is unisex; "Women's > ..." in a category path
    counts like "for women" in the title.
    """
    words = set(normalise(text).split())
    if words & _UNISEX:
        return "unisex"
    men, women = bool(words & _MEN), bool(words & _WOMEN)
    if men and women:
        return "unisex"
    return "men" if men else "women" if women else ""


def product_audience(title: str | None, category_path: str | None) -> str:
    """A listing's audience: its title's, else its category path's."""
    return audience_of(title) or audience_of(category_path)


def audiences_compatible(a: str, b: str) -> bool:
    """Unknown or unisex on either side fits anything; otherwise they must be equal."""
    return not a or not b or "unisex" in (a, b) or a == b


def assign_product_types(products):
    """`products` (a frame with title and category_path) plus `product_type`, `type_form` and
    `audience` columns; the lexicon learns this catalog's category leaves."""
    lexicon = TypeLexicon.from_categories(products["category_path"].tolist())
    kinds = [lexicon.of_product(t, p) for t, p in zip(products["title"], products["category_path"])]
    return products.assign(
        product_type=[k.name or None for k in kinds],
        type_form=[k.form or None for k in kinds],
        audience=[product_audience(t, p) or None for t, p in zip(products["title"], products["category_path"])],
    )


# --------------------------------------------------------------------------- line words

# Words that say nothing about which line a listing is: packaging, sales talk, audience.
_NOT_LINE = {
    "by", "for", "the", "a", "an", "and", "&", "of", "with", "in", "on", "to", "de", "la", "le", "du", "des",
    "spray", "sprays", "natural", "vaporisateur", "vapo", "splash", "bottle", "tester", "unboxed", "boxed", "box",
    "new", "full", "size", "travel", "mini", "miniature", "refill", "refillable", "edition", "limited", "gift",
    "oz", "ounce", "ounces", "fl", "ml", "pack", "piece", "count", "ct", "value", "authentic", "original", "brand",
    "sealed", "packaging", "version", "style", "inspired", "scented", "scent", "fragrance", "fragrances", "perfume",
    "perfumes", "parfums", "cologne", "colognes", "body", "stick", "roll", "on", "balm", "lotion", "oil", "oils",
    "x", "no", "other", "similar", "matching", "favorite", "favourite", "rollerball", "roller", "purse", "sized",
    "dupe", "clone", "classic", "pour", "concentrated", "pure", "organic", "therapeutic", "grade", "premium",
    "genuine", "fine", "scents", "eau", "fluid",
} | _MEN | _WOMEN | _UNISEX


def line_words(text: str | None, brand: str | None, lexicon: "TypeLexicon", drop_maker: bool = False) -> list[str]:
    """The words of a title or mention that name its *line*: without sizes, type phrases,
    the brand's words, audience words and packaging talk. "Britney Spears Fantasy eau de
    parfum" with brand "Britney Spears" -> ["fantasy"]; "Midnight Fantasy By Britney Spears
    For Women. Eau De Parfum Spray 3.3 Oz" -> ["midnight", "fantasy"]."""
    text = normalise(strip_sizes(text or ""))
    if drop_maker:  # "Shalimar by Guerlain for Women": the words after "by" name the maker, not the line
        text = re.sub(r"\bby\b.*?(?=\bfor\b|$)", " ", text)
    text = lexicon._compiled().sub(" ", text)
    brand_words = set(normalise(brand).split()) if brand else set()
    # Numbers that survive size stripping are names ("212", "No. 5", "L.12.12"); single
    # letters are leftovers of punctuation. An audience word is part of the name unless it
    # follows "for"/"pour" ("Bvlgari Man", "Guilty Men" vs "Polo for Men").
    words, kept = text.split(), []
    for i, w in enumerate(words):
        if w in _AUDIENCE_CANON and (i == 0 or words[i - 1] not in ("for", "pour")):
            kept.append(_AUDIENCE_CANON[w])
        elif w not in _NOT_LINE and w not in brand_words and (len(w) > 1 or w.isdigit()):
            kept.append(w)
    return kept


_AUDIENCE_CANON = {"man": "men", "men": "men", "mens": "men", "womens": "women", "homme": "men", "him": "men", "woman": "women", "women": "women",
                   "femme": "women", "her": "women"}


def audience_canonical(words: set[str] | frozenset[str]) -> set[str]:
    """Words plus the canonical form of their audience words ("homme" -> "men")."""
    return set(words) | {_AUDIENCE_CANON[w] for w in words if w in _AUDIENCE_CANON}
