"""A labelled resolution set derived from real titles, and its scores.

LLMs rarely repeat a catalog title verbatim. From each sampled product we derive the
mentions an LLM would write — the exact title, the title without its brand, an
abbreviation without sizes and packaging, a reordering, a plural lower-case form, a typo,
and the bare product type — each labelled with the product it came from.

Scores:
- `exact_top1`: exact titles linked to their product;
- `derived_top1`: brand-less, abbreviated, reordered, plural and typo'd mentions linked to
  their product (unresolved counts as a miss);
- `product_precision`: of all "product" decisions, the share that are right — the source
  product, or for a bare product type any product of that type (same category leaf).
  A wrong link is worse than "unresolved", so this must stay high.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from pkg_assets.core.catalog import clean_text, strip_sizes

DERIVED_KINDS = ("no_brand", "abbreviated", "reordered", "plural", "typo")
_WORD = re.compile(r"[A-Za-z0-9'&+.-]+")


@dataclass(frozen=True)
class LabelledMention:
    mention: str
    kind: str  # exact | one of DERIVED_KINDS | generic
    product_id: str
    category_leaf: str


def _words(text: str) -> list[str]:
    return _WORD.findall(text)


def _without_brand(title: str, brand: str | None) -> str | None:
    if not brand:
        return None
    pattern = re.compile(r"\b" + re.escape(brand) + r"\b('s)?", re.IGNORECASE)
    stripped = " ".join(pattern.sub(" ", title).split()).strip(" ,-")
    return stripped if stripped and stripped.lower() != title.lower() else None


def _plural(word: str) -> str:
    lower = word.lower()
    if lower.endswith(("s", "x", "sh", "ch")):
        return word + "es" if not lower.endswith("s") else word
    if lower.endswith("y") and len(lower) > 2 and lower[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def _typo(text: str, rng: random.Random) -> str | None:
    words = text.split()
    candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not candidates:
        return None
    i = rng.choice(candidates)
    word = words[i]
    j = rng.randrange(1, len(word) - 1)
    edit = rng.choice(("swap", "drop", "double"))
    if edit == "swap":
        word = word[:j] + word[j + 1] + word[j] + word[j + 2:]
    elif edit == "drop":
        word = word[:j] + word[j + 1:]
    else:
        word = word[:j] + word[j] + word[j:]
    words[i] = word
    return " ".join(words)


def derive_mentions(product_id: str, title: str, brand: str | None, category_path: str | None,
                    rng: random.Random) -> list[LabelledMention]:
    title, brand = clean_text(title), clean_text(brand) or None
    leaf = (category_path or "").split(">")[-1].strip()
    short = strip_sizes(title)
    short_words = _words(short)
    forms: dict[str, str | None] = {
        "exact": title,
        "no_brand": _without_brand(short, brand),
        "abbreviated": " ".join(short_words[:6]) if len(short_words) > 2 else None,
        "reordered": " ".join(short_words[2:] + short_words[:2]) if len(short_words) >= 4 else None,
        "plural": (" ".join([*short_words[:-1], _plural(short_words[-1])]).lower() if short_words else None),
        "typo": _typo(short, rng),
        "generic": leaf.lower() or None,
    }
    return [LabelledMention(m, kind, product_id, leaf) for kind, m in forms.items() if m and len(m) >= 3]


def build_labelled_set(products, n: int, seed: int = 0) -> list[LabelledMention]:
    """Derived mentions of `n` products sampled (seeded) from a products frame."""
    rng = random.Random(seed)
    rows = products.sample(n=min(n, len(products)), random_state=seed).to_dict("records")
    out: list[LabelledMention] = []
    for row in rows:
        out.extend(derive_mentions(row["product_id"], row["title"], row.get("brand"), row.get("category_path"), rng))
    return out


def score(labelled: list[LabelledMention], decisions: list[tuple[str, str | None]],
          leaf_of: dict[str, str]) -> dict[str, float]:
    """decisions[i] = (decision, tail_id) for labelled[i]."""
    def share(kinds: tuple[str, ...]) -> float:
        hits = [d == "product" and t == m.product_id for m, (d, t) in zip(labelled, decisions) if m.kind in kinds]
        return sum(hits) / len(hits) if hits else 0.0

    linked = [(m, t) for m, (d, t) in zip(labelled, decisions) if d == "product"]
    correct = sum(1 for m, t in linked
                  if t == m.product_id or (m.kind == "generic" and leaf_of.get(t) == m.category_leaf))
    figures = {
        "exact_top1": share(("exact",)),
        "derived_top1": share(DERIVED_KINDS),
        "product_precision": correct / len(linked) if linked else 1.0,
        "generic_linked": (sum(1 for m, t in linked if m.kind == "generic")
                           / max(1, sum(1 for m in labelled if m.kind == "generic"))),
    }
    for kind in DERIVED_KINDS:
        figures[f"top1_{kind}"] = share((kind,))
    return figures


# ------------------------------------------------------------------------------ concepts

# Surface forms an LLM produces for one concept, and confusable neighbours that must stay
# apart (Mother's Day / Father's Day, hikers / bikers, new parents / parents).
CONCEPT_GROUPS: dict[tuple[str, str], list[str]] = {
    ("occasion", "Mother's Day"): ["Mother's Day", "mothers day", "Mothers Day gift", "mother's day gifts",
                                   "Mothers-Day", "MOTHER'S DAY", "Mother’s Day", "mothers day present"],
    ("occasion", "Father's Day"): ["Father's Day", "fathers day", "Fathers Day gift", "father's day gifts"],
    ("occasion", "Valentine's Day"): ["Valentine's Day", "valentines day", "Valentines Day gift", "Valentines-Day"],
    ("occasion", "birthday"): ["birthday", "Birthday", "birthdays", "birthday gift", "birthday present"],
    ("occasion", "birthday party"): ["birthday party", "birthday parties", "Birthday Party"],
    ("occasion", "Christmas"): ["Christmas", "christmas gift", "Christmas gifts", "CHRISTMAS"],
    ("occasion", "anniversary"): ["anniversary", "anniversaries", "anniversary gift"],
    ("occasion", "wedding anniversary"): ["wedding anniversary", "wedding anniversaries"],
    ("occasion", "baby shower"): ["baby shower", "baby showers", "Baby Shower gift", "baby-shower"],
    ("occasion", "back to school"): ["back to school", "back-to-school", "Back To School"],
    ("occasion", "housewarming"): ["housewarming", "house warming", "housewarming gift", "house-warming"],
    ("occasion", "graduation"): ["graduation", "graduations", "graduation gift"],
    ("audience", "new parents"): ["new parents", "New Parent", "new-parents"],
    ("audience", "parents"): ["parents", "parent", "Parents"],
    ("audience", "hikers"): ["hikers", "hiker", "Hikers"],
    ("audience", "bikers"): ["bikers", "biker"],
    ("audience", "mothers"): ["mothers", "mother", "Moms"],
    ("audience", "students"): ["students", "student", "college students"],
    ("audience", "coffee lovers"): ["coffee lovers", "coffee lover", "Coffee-Lovers"],
    ("audience", "tea drinkers"): ["tea drinkers", "tea drinker"],
    ("usage", "camping"): ["camping", "Camping", "camping trips"],
    ("usage", "hiking"): ["hiking", "Hiking"],
    ("usage", "morning routine"): ["morning routine", "morning routines", "Morning-Routine"],
    ("usage", "relaxation"): ["relaxation", "Relaxation"],
}


def concept_merge_scores(surface_to_id: dict[tuple[str, str], str]) -> dict[str, float]:
    """Pairwise precision and recall of concept merging against CONCEPT_GROUPS.

    Some surface forms are honestly different concepts even though an LLM might mean the
    same ("Moms" vs "mothers", "college students" vs "students"): recall is reported, the
    target is precision (merging two different concepts is the costly mistake).
    """
    truth = {(kind, form): canonical for (kind, canonical), forms in CONCEPT_GROUPS.items() for form in forms}
    items = sorted(truth)
    same_pred = same_true = both = 0
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            if a[0] != b[0]:
                continue
            predicted = surface_to_id[a] == surface_to_id[b]
            actual = truth[a] == truth[b]
            same_pred += predicted
            same_true += actual
            both += predicted and actual
    return {"concept_merge_precision": both / same_pred if same_pred else 1.0,
            "concept_merge_recall": both / same_true if same_true else 1.0}


def concept_mentions() -> list[tuple[str, str]]:
    return [(kind, form) for (kind, _), forms in CONCEPT_GROUPS.items() for form in forms]
