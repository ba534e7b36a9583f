"""Entity resolution: link an LLM's tail mentions to catalog products or canonical concepts.

Products: an approximate-nearest-neighbour search (usearch, cosine) over the embeddings of
the whole catalog gives candidates; each is rescored with rapidfuzz lexical similarity to
the mention and affinity to the head product (a "phone case" mentioned for a Nova X5
prefers the Nova X5 case). A link is made only above a threshold: a wrong link is worse
than "unresolved", which the gate then rejects with its reason.

Concepts: surface forms are normalised (case, possessives, plurals, filler words like
"gift") into a key; keys of the same kind that are near-identical are merged into one
node with all its surface forms.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field
from rapidfuzz import fuzz, utils as fuzz_utils

from pkg_assets.core.catalog import clean_text


class ResolutionConfig(BaseModel):
    """Thresholds and weights of resolution; the defaults are tuned on the demo catalog."""

    top_k: int = Field(default=10, description="ANN candidates per mention")
    weight_embedding: float = 0.5
    weight_lexical: float = 0.35
    weight_head_affinity: float = 0.15
    product_threshold: float = Field(default=0.55, description="combined score needed to link a product")
    concept_merge_ratio: float = Field(default=92.0, description="rapidfuzz ratio (0-100) to merge two concept keys")


# --------------------------------------------------------------------------- concepts

_FILLER_WORDS = {"gift", "gifts", "present", "presents", "idea", "ideas", "the", "a", "an", "for"}
_NON_ALNUM = re.compile(r"[^a-z0-9 ]+")


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def lexical_form(text: str) -> str:
    """Lower-case, punctuation-free, singular tokens: "Phones > Cases" -> "phone case"."""
    return " ".join(_singular(token) for token in fuzz_utils.default_process(clean_text(text)).split())


def concept_key(surface: str) -> str:
    """"Mother's Day", "mothers day gift", "Mothers-Day" -> "mother day"."""
    text = clean_text(surface).lower().replace("'s", "s").replace("’s", "s")
    text = _NON_ALNUM.sub(" ", text.replace("-", " "))
    words = [_singular(word) for word in text.split() if word not in _FILLER_WORDS]
    return " ".join(words) or text.strip()


def concept_id(kind: str, key: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", key).strip("-") or hashlib.sha1(key.encode()).hexdigest()[:8]
    return f"concept:{kind}:{slug}"


@dataclass
class ConceptNode:
    concept_id: str
    kind: str
    canonical_name: str
    surface_forms: list[str]
    mention_count: int


def canonicalise_concepts(mentions: list[tuple[str, str]], merge_ratio: float = 92.0) -> tuple[dict[tuple[str, str], str], list[ConceptNode]]:
    """Group (kind, surface) mentions into concept nodes.

    Returns a map (kind, surface) -> concept_id and the nodes. Within a kind, keys merge
    when rapidfuzz's ratio reaches `merge_ratio` (catches "valentine day"/"valentines day"
    typos) — the most frequent key of a group names the node's id.
    """
    counts = Counter(mentions)
    by_kind: dict[str, Counter] = defaultdict(Counter)
    for (kind, surface), n in counts.items():
        by_kind[kind][concept_key(surface)] += n
    key_to_group: dict[tuple[str, str], str] = {}
    for kind, key_counts in by_kind.items():
        representatives: list[str] = []
        # Most frequent keys first, so they become the representatives others merge into.
        for key, _ in sorted(key_counts.items(), key=lambda item: (-item[1], item[0])):
            match = next((rep for rep in representatives if fuzz.ratio(key, rep) >= merge_ratio), None)
            if match is None:
                representatives.append(key)
                match = key
            key_to_group[(kind, key)] = match
    surface_to_id: dict[tuple[str, str], str] = {}
    forms: dict[str, Counter] = defaultdict(Counter)
    kinds: dict[str, str] = {}
    for (kind, surface), n in counts.items():
        cid = concept_id(kind, key_to_group[(kind, concept_key(surface))])
        surface_to_id[(kind, surface)] = cid
        forms[cid][surface] += n
        kinds[cid] = kind
    nodes = []
    for cid, surface_counts in sorted(forms.items()):
        canonical = sorted(surface_counts.items(), key=lambda item: (-item[1], len(item[0]), item[0]))[0][0]
        nodes.append(ConceptNode(cid, kinds[cid], canonical, sorted(surface_counts), sum(surface_counts.values())))
    return surface_to_id, nodes


# --------------------------------------------------------------------------- products


@dataclass
class CatalogIndex:
    """All products' embeddings and titles, with a usearch ANN index over them."""

    product_ids: list[str]
    titles: list[str]
    vectors: np.ndarray  # (n, d) float32, L2-normalised
    categories: list[str] | None = None  # category_words() per product, for lexical type matching

    def __post_init__(self) -> None:
        from usearch.index import Index

        self._position = {pid: i for i, pid in enumerate(self.product_ids)}
        self._norm_titles = [lexical_form(t) for t in self.titles]
        self._categories = [lexical_form(c) for c in (self.categories or [""] * len(self.titles))]
        self.index = Index(ndim=self.vectors.shape[1] if len(self.vectors) else 1, metric="cos", dtype="f32")
        if len(self.product_ids):
            self.index.add(np.arange(len(self.product_ids), dtype=np.uint64), self.vectors)

    def vector_of(self, product_id: str) -> np.ndarray | None:
        position = self._position.get(product_id)
        return None if position is None else self.vectors[position]

    def title_of(self, product_id: str) -> str | None:
        position = self._position.get(product_id)
        return None if position is None else self.titles[position]

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions, cosine similarities), each (m, k'), k' = min(k, n)."""
        k = min(k, len(self.product_ids))
        matches = self.index.search(vectors, k, exact=len(self.product_ids) <= 2048)
        keys = np.asarray(matches.keys).reshape(len(vectors), -1)[:, :k].astype(np.int64)
        similarity = 1.0 - np.asarray(matches.distances).reshape(len(vectors), -1)[:, :k]
        return keys, similarity


@dataclass
class ProductLink:
    decision: str  # product | unresolved
    tail_id: str | None
    score: float
    reason: str
    candidates: list[dict]


def resolve_product_mentions(
    mentions: list[tuple[str, str]],  # (head_id, mention)
    mention_vectors: dict[str, np.ndarray],
    index: CatalogIndex,
    config: ResolutionConfig,
) -> list[ProductLink]:
    """Link each (head, mention) to a catalog product or leave it unresolved, with reasons."""
    if not mentions or not index.product_ids:
        return [ProductLink("unresolved", None, 0.0, "catalog index is empty", []) for _ in mentions]
    distinct = sorted({m for _, m in mentions})
    matrix = np.stack([mention_vectors[m] for m in distinct])
    positions, similarities = index.search(matrix, config.top_k + 1)  # +1: the head is skipped
    ann = {m: (positions[i], similarities[i]) for i, m in enumerate(distinct)}
    links = []
    for head_id, mention in mentions:
        norm_mention = lexical_form(mention)
        head_title = index.title_of(head_id) or ""
        scored = []
        for position, cosine in zip(*ann[mention]):
            # The head is never its own tail: an LLM asked what relates to a product means
            # another product, and linking the head would only make a self-loop.
            if position < 0 or index.product_ids[position] == head_id:
                continue
            title = index._norm_titles[position]
            typed = f"{index._categories[position]} {title}"
            lexical = max(fuzz.token_set_ratio(norm_mention, title), fuzz.partial_ratio(norm_mention, title),
                          fuzz.token_set_ratio(norm_mention, typed)) / 100.0
            affinity = head_affinity(head_title, index.titles[position])
            score = (config.weight_embedding * float(cosine) + config.weight_lexical * lexical
                     + config.weight_head_affinity * affinity)
            scored.append({
                "product_id": index.product_ids[position], "title": index.titles[position],
                "score": round(score, 4), "cosine": round(float(cosine), 4),
                "lexical": round(lexical, 4), "head_affinity": round(affinity, 4),
            })
        scored.sort(key=lambda c: -c["score"])
        top = scored[:5]
        if top and top[0]["score"] >= config.product_threshold:
            best = top[0]
            links.append(ProductLink(
                "product", best["product_id"], best["score"],
                f"best candidate {best['title']!r} scored {best['score']:.2f} >= {config.product_threshold:.2f} "
                f"(cosine {best['cosine']:.2f}, lexical {best['lexical']:.2f})",
                top,
            ))
        else:
            best_text = f"best {top[0]['title']!r} {top[0]['score']:.2f}" if top else "no candidates"
            links.append(ProductLink(
                "unresolved", None, top[0]["score"] if top else 0.0,
                f"no catalog product close enough ({best_text} < {config.product_threshold:.2f})",
                top,
            ))
    return links


def candidates_json(candidates: list[dict]) -> str:
    return json.dumps(candidates, ensure_ascii=False)


def category_words(category_path: str | None) -> str:
    """The last two category levels, which name the product type ("Phones & Accessories > Cases")."""
    return " > ".join([p.strip() for p in (category_path or "").split(">") if p.strip()][-2:])


def product_embedding_text(title: str, category_path: str | None) -> str:
    """What a product is embedded as: its last two category levels, then its title.

    LLMs name the product *type* ("phone case") far more often than the title; the
    category words carry the type ("Phones & Accessories > Cases"), lifting the cosine of
    such mentions (0.40 -> 0.55 for "phone case" vs a Nova X5 case with MiniLM).
    """
    words = category_words(category_path)
    return f"{words} > {title}" if words else title


_TOKEN = re.compile(r"[a-z0-9]+")
_GENERIC_TOKENS = {"with", "and", "for", "the", "of", "pack", "set", "new", "oz", "ct", "inch", "ft", "pc"}


def _tokens(text: str) -> set[str]:
    return {t for t in _TOKEN.findall(text.lower()) if len(t) > 1 and t not in _GENERIC_TOKENS}


def head_affinity(head_title: str, candidate_title: str) -> float:
    """Share of the head's title tokens the candidate repeats (brand, model: "Nova X5")."""
    head = _tokens(head_title)
    return len(head & _tokens(candidate_title)) / len(head) if head else 0.0
