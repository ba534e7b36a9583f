"""Entity resolution: link an LLM's tail mentions to catalog products or canonical concepts.

Products: candidates come from the whole catalog through two indexes — approximate
nearest neighbours over sentence embeddings (usearch) and TF-IDF over character n-grams
(scikit-learn) — and each is rescored: embedding cosine, rapidfuzz similarity to the title
and type words, affinity to the head product (a "phone case" mentioned for a Nova X5
prefers the Nova X5 case) and brand compatibility. A link is made only above a threshold
and with a margin over the runner-up: a wrong link is worse than "unresolved", which the
gate then rejects with its reason.

Concepts: surface forms are normalised (case, possessives, plurals, filler words like
"gift") into a key; keys of the same kind that are near-identical are merged into one
node with all its surface forms.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field
from rapidfuzz import fuzz, process, utils as fuzz_utils

from pkg_assets.core.catalog import clean_text
from pkg_assets.core.product_type import (
    ProductType,
    TypeLexicon,
    audience_of,
    audiences_compatible,
    compatible,
    _NOT_LINE,
    audience_canonical,
    line_words,
    normalise,
    product_audience,
    _MEN,
    _UNISEX,
    _WOMEN,
)

# Words of a generic mention that name no part of the kind: function words, audience words
# (the audience rule judges those), and size or praise ("travel perfume atomizer" is any
# perfume atomizer; a 10 ml one is for travel whether or not its title says so).
_GENERIC_FILLER = {"a", "an", "the", "of", "for", "and", "&", "with", "in", "on", "to", "or", "by", "your", "my",
                   "their", "its", "travel", "mini", "miniature", "small", "large", "big", "sized", "size",
                   "new", "premium", "quality", "luxury", "luxurious", "fine", "genuine", "authentic", "original",
                   "classic", "best", "good", "great", "nice"} | _MEN | _WOMEN | _UNISEX


def _word_forms(word: str) -> set[str]:
    """A word with its plural or singular ("brush"/"brushes", "body"/"bodies", "oil"/"oils")."""
    forms = {word, _singular(word), f"{word}s", f"{word}es"}
    if word.endswith("ies"):
        forms.add(word[:-3] + "y")
    if word.endswith("es"):
        forms.add(word[:-2])
    if word.endswith("s"):
        forms.add(word[:-1])
    if word.endswith("y"):
        forms.add(word[:-1] + "ies")
    return forms


class ResolutionConfig(BaseModel):
    """Thresholds and weights of resolution.

    Defaults were tuned on the demo catalog, on a labelled set derived from amazon-beauty
    titles (core/resolution_eval.py, benchmarks/resolution.py), and the type, audience and
    line rules with `product_threshold` and `max_line_extra` on the `dev` half of labels people
    wrote for a real LLM's answers (pkg_assets_tests/fixtures/fragrance_labels,
    benchmarks/knowledge.py): raising `min_margin` trades recall on near-duplicate variants
    for precision.
    """

    top_k: int = Field(default=10, description="candidates per mention from each index (dense and lexical)")
    weight_embedding: float = Field(default=0.5, description="weight of the mention/product cosine")
    weight_lexical: float = Field(default=0.35, description="weight of rapidfuzz similarity to title and type words")
    weight_head_affinity: float = Field(default=0.15, description="weight of tokens shared with the head's title")
    brand_bonus: float = Field(default=0.05, description="added when the mention names the candidate's brand")
    brand_penalty: float = Field(default=0.15, description="subtracted when the mention names another brand")
    product_threshold: float = Field(default=0.55, description="score (0-1) needed to link a product")
    min_margin: float = Field(default=0.02, description="lead over the runner-up needed to link (else ambiguous)")
    concept_merge_ratio: float = Field(default=92.0, description="rapidfuzz ratio (0-100) to merge two concept keys")
    require_type_match: bool = Field(
        default=True, description="a link must agree on product type (form) and audience with the mention")
    max_line_missing: float = Field(
        default=0.0, description="IDF share of the mention's line words the title may lack (0: every one present)")
    line_extra_penalty: float = Field(
        default=0.15, description="subtracted per unit IDF share of title line words the mention lacks (flankers)")
    max_line_extra: float = Field(
        default=0.2, description="IDF share of title line words the mention lacks above which the title is "
        "another line (a flanker: 'Midnight Fantasy' for 'Fantasy')")
    generic_words_exact: bool = Field(
        default=True, description="a generic mention ('cream deodorant') names a kind by every one of its words: "
        "the title or category must carry each word itself (or its singular), not a look-alike")


# --------------------------------------------------------------------------- concepts

_FILLER_WORDS = {"gift", "gifts", "present", "presents", "idea", "ideas", "the", "a", "an", "for"}
_NON_ALNUM = re.compile(r"[^a-z0-9 ]+")


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "as")):  # christmas, pajamas
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


# Part of a saved index's file name (with the catalog version): change it whenever the HNSW or
# TF-IDF parameters below change, so no process opens an index built with the old ones.
INDEX_FORMAT = "hnsw-cos-i8-16-128-256-shards100k.tfidf-char_wb-3-5-sublinear.v3"
# The HNSW graph stores vectors as int8 (usearch quantises each normalised vector): it only
# proposes candidates, whose cosines are then computed exactly from the float32 vectors, so no
# score or threshold sees the quantisation. On 100k stand-in titles the build takes 34 s
# instead of 85 s (distance work 4x smaller) with the same top-1 recall; the labelled real
# Fragrance mentions resolve the same (benchmarks/README.md, "Catalog index").
HNSW_DTYPE = "i8"
HNSW_CONNECTIVITY, HNSW_EXPANSION_ADD = 16, 128
# Candidate recall of the true product matters more than microseconds here. usearch does not
# keep this in the saved file (an opened index searches at its default, 64), so it is set on
# every index, built or opened.
HNSW_EXPANSION_SEARCH = 256
# Products per HNSW graph. A larger catalog gets several graphs of equal size, searched together
# (usearch `Indexes`) and merged by similarity, as Lucene keeps one HNSW graph per segment. Why:
# one graph's build stops scaling once its vectors and links outgrow the CPU cache, since every
# insertion then waits on memory: 0.27 ms per product at 100k, 0.41 at 300k, 0.72 at 1M in one
# graph; ten graphs of 100k build 1M in 277 s instead of about 720 s, and find more of the exact
# nearest products (recall@10 0.944 against 0.843 for one 300k graph). The price is a search per
# graph: 5,000 mentions take 31 s on ten graphs (benchmarks/README.md, "Catalog index at 1M").
HNSW_SHARD_SIZE = 100_000


def hnsw_shards(n: int) -> list[range]:
    """The positions each HNSW graph holds: consecutive, of equal size, none over HNSW_SHARD_SIZE."""
    count = max(1, -(-n // HNSW_SHARD_SIZE))
    bounds = [round(i * n / count) for i in range(count + 1)]
    return [range(start, stop) for start, stop in zip(bounds[:-1], bounds[1:])]


def shard_path(path: Path, shard: int) -> Path:
    """Graph `shard`'s file: the first is `path` itself, written last, so whoever finds it finds
    the others whole (each is renamed into place)."""
    return path if shard == 0 else path.with_name(f"{path.name}.{shard}")


def tfidf_path(path: Path) -> Path:
    """The fitted TF-IDF kept beside the index at `path`."""
    return path.with_suffix(".tfidf.joblib")


def index_files(path: Path) -> list[Path]:
    """Every file of the index at `path`, the first graph's first: removed in this order, no
    process starts opening the index once its other files begin to go."""
    return [path, *sorted(path.parent.glob(f"{path.name}.*")), tfidf_path(path)]


def _write_atomically(path: Path, write) -> None:
    """`write(partial)` to a temporary name beside `path`, then rename it into place: another
    process opening `path` sees a whole file or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(partial)
    os.replace(partial, path)


@dataclass
class CatalogIndex:
    """Every product's embedding, title, brand and type words, with two candidate indexes:

    - dense: usearch HNSW graphs (cosine) over the sentence embeddings — meaning,
      synonyms, reordering; one graph per HNSW_SHARD_SIZE products, searched together;
    - lexical: scikit-learn TF-IDF over character 3-5-grams of the titles — rare words,
      model names, typos, which MiniLM blurs.
    A mention's candidates are the union of both top-k lists.

    Both indexes are built on first search: the gate and the duplicate check read vectors and
    traits only. With `index_path`, the HNSW graphs are saved there (`shard_path`) once built and
    later opened memory-mapped (usearch `restore(view=True)`), so each catalog version is indexed
    once, not once per partition and stage (`load_catalog_index` names the file by version);
    the fitted TF-IDF is kept beside it.
    """

    product_ids: list[str]
    titles: list[str]
    vectors: np.ndarray  # (n, d) float32, L2-normalised
    categories: list[str] | None = None  # category_words() per product, for lexical type matching
    brands: list[str | None] | None = None
    category_paths: list[str | None] | None = None  # full paths: product types and audiences
    partitions: list[str] | None = None  # each product's category partition
    index_path: Path | None = None  # where the HNSW graph of this catalog version is kept

    def __post_init__(self) -> None:
        n = len(self.product_ids)
        paths = self.category_paths or [None] * n
        self.lexicon = TypeLexicon.from_categories(paths)
        self.types = [self.lexicon.of_product(t, p) for t, p in zip(self.titles, paths)]
        self.audiences = [product_audience(t, p) for t, p in zip(self.titles, paths)]
        self._partition_of = dict(zip(self.product_ids, self.partitions or [""] * n))
        forms_by_partition: dict[str, Counter] = defaultdict(Counter)
        for partition, kind in zip(self.partitions or [""] * n, self.types):
            if kind:
                forms_by_partition[partition][kind.form] += 1
        # The form most listings of a partition have: what a mention naming no type means there.
        self._dominant_form = {p: c.most_common(1)[0][0] for p, c in forms_by_partition.items()}
        self._position = {pid: i for i, pid in enumerate(self.product_ids)}
        self._norm_titles = [lexical_form(t) for t in self.titles]
        self._categories = [lexical_form(c) for c in (self.categories or [""] * n)]
        self._brands = [lexical_form(b) if b else "" for b in (self.brands or [None] * n)]
        self.brand_lexicon = {b for b in self._brands if len(b) >= 3}
        # Word document frequencies (titles + type words): rare words ("M54", "Auroar") decide.
        self._title_tokens = [set(f"{c} {t}".split()) for c, t in zip(self._categories, self._norm_titles)]
        document_frequency = Counter(token for tokens in self._title_tokens for token in tokens)
        self._idf = {t: math.log((1 + n) / (1 + df)) + 1.0 for t, df in document_frequency.items()}
        self._default_idf = math.log(1 + n) + 1.0
        by_title: dict[str, list[int]] = defaultdict(list)
        for i, title in enumerate(self._norm_titles):
            by_title[title].append(i)
        self._by_title = by_title
        self._dense = None
        self._tfidf = None

    def _dense_index(self):
        """The usearch HNSW graphs (cosine, one per shard), built or opened on first use."""
        if self._dense is None:
            from usearch.index import Index, Indexes

            path, shards = self.index_path, hnsw_shards(len(self.product_ids))
            if path is not None and path.exists():
                graphs = [Index.restore(str(shard_path(path, i)), view=True) for i in range(len(shards))]
            else:
                graphs = [Index(ndim=self.vectors.shape[1] if positions else 1, metric="cos", dtype=HNSW_DTYPE,
                                connectivity=HNSW_CONNECTIVITY, expansion_add=HNSW_EXPANSION_ADD)
                          for positions in shards]
                for graph, positions in zip(graphs, shards):
                    if positions:
                        graph.add(np.arange(positions.start, positions.stop, dtype=np.uint64),
                                  self.vectors[positions.start:positions.stop])
                if path is not None and len(self.product_ids):
                    for i in reversed(range(len(graphs))):  # the first file last
                        _write_atomically(shard_path(path, i), graphs[i].save)
            for graph in graphs:
                graph.expansion_search = HNSW_EXPANSION_SEARCH
            # `Indexes` only points at the graphs: they must live as long as it does.
            self._graphs = graphs
            self._dense = graphs[0] if len(graphs) == 1 else Indexes(indexes=graphs)
        return self._dense

    def _lexical_index(self):
        """TF-IDF over character 3-5-grams of the titles, fitted on first use; kept beside the
        HNSW file (joblib, scikit-learn's own persistence; the data folder is trusted as the
        warehouse is) and loaded from it after."""
        if self._tfidf is None:
            import joblib

            path = tfidf_path(self.index_path) if self.index_path is not None else None
            if path is not None and path.exists():
                self._tfidf, self._title_matrix = joblib.load(path)
            else:
                from sklearn.feature_extraction.text import TfidfVectorizer

                self._tfidf = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=1, sublinear_tf=True,
                                              dtype=np.float32)
                self._title_matrix = self._tfidf.fit_transform(self._norm_titles).T.tocsr()
                if path is not None:
                    _write_atomically(path, lambda partial: joblib.dump((self._tfidf, self._title_matrix), partial))
        return self._tfidf, self._title_matrix

    def __len__(self) -> int:
        return len(self.product_ids)

    def vector_of(self, product_id: str) -> np.ndarray | None:
        position = self._position.get(product_id)
        return None if position is None else self.vectors[position]

    def title_of(self, product_id: str) -> str | None:
        position = self._position.get(product_id)
        return None if position is None else self.titles[position]

    def implied_form(self, head_id: str | None) -> str:
        """The form a type-less mention is read as: the dominant form of the head's partition
        ("Viktor & Rolf Flowerbomb" said of a perfume in Fragrance means the perfume, not its
        body lotion). "" when the head is unknown."""
        return self._dominant_form.get(self._partition_of.get(head_id, ""), "") if head_id else ""

    def audience_of(self, product_id: str | None) -> str:
        position = self._position.get(product_id) if product_id else None
        return "" if position is None else self.audiences[position]

    def exact_title(self, norm_mention: str) -> list[int]:
        return self._by_title.get(norm_mention, [])

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Dense candidates: (positions, cosine similarities), each (m, k'), k' = min(k, n)."""
        k = min(k, len(self.product_ids))
        if k == 0:
            return np.zeros((len(vectors), 0), np.int64), np.zeros((len(vectors), 0), np.float32)
        # The graph ranks int8 copies: ask it for twice k, score those exactly from the float32
        # vectors and keep the best k, so near-ties the quantisation swaps stay in.
        wanted = min(2 * k, len(self.product_ids))
        matches = self._dense_index().search(vectors, wanted, exact=len(self.product_ids) <= 2048)
        keys = np.asarray(matches.keys).reshape(len(vectors), -1)[:, :wanted].astype(np.int64)
        # usearch pads rows it could not fill with a key outside the catalog; those stay -1.
        found = (keys >= 0) & (keys < len(self.product_ids))
        queries = np.asarray(vectors, dtype=np.float32)
        queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        similarity = np.einsum("md,mkd->mk", queries, self.vectors[np.where(found, keys, 0)])
        similarity = np.where(found, similarity, -np.inf)
        best = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
        keys = np.take_along_axis(np.where(found, keys, -1), best, axis=1)
        similarity = np.take_along_axis(similarity, best, axis=1)
        return keys, np.where(keys >= 0, similarity, 0.0)

    def lexical_search(self, norm_mentions: list[str], k: int) -> np.ndarray:
        """Lexical candidates: positions (m, k) by TF-IDF cosine of character n-grams."""
        k = min(k, len(self.product_ids))
        # Score rows in chunks of ~32M cells so memory stays flat whatever the catalog size.
        chunk = max(64, min(4096, 2**25 // max(1, len(self.product_ids))))
        out = np.zeros((len(norm_mentions), k), dtype=np.int64)
        if not k:
            return out
        tfidf, title_matrix = self._lexical_index()
        for start in range(0, len(norm_mentions), chunk):
            queries = tfidf.transform(norm_mentions[start:start + chunk])
            scores = (queries @ title_matrix).toarray()
            top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
            out[start:start + len(top)] = top
        return out

    def mentioned_brand(self, norm_mention: str) -> str | None:
        """The catalog brand a mention names, if any ("opi top coat" -> "opi")."""
        words = norm_mention.split()
        for size in (3, 2, 1):
            for i in range(len(words) - size + 1):
                gram = " ".join(words[i:i + size])
                if gram in self.brand_lexicon:
                    return gram
        return None


@dataclass
class ProductLink:
    decision: str  # product | unresolved
    tail_id: str | None
    score: float
    reason: str
    candidates: list[dict]


def coverage(index: CatalogIndex, mention_tokens: list[str], position: int) -> float:
    """IDF-weighted share of the mention's words the candidate carries (typos forgiven).

    Directional on purpose: rapidfuzz's token_set_ratio scores 100 when the *candidate's*
    words are a subset of the mention's, so "virgin hair fertilizer" would fully match
    "virgin hair fertilizer now wears a new name"; coverage does not.
    """
    tokens = index._title_tokens[position]
    total = matched = 0.0
    for token in mention_tokens:
        weight = index._idf.get(token, index._default_idf)
        total += weight
        if token in tokens:
            matched += weight
        elif len(token) >= 4:
            best = process.extractOne(token, tokens, scorer=fuzz.ratio, score_cutoff=80)
            if best is not None:
                matched += weight * best[1] / 100.0
    return matched / total if total else 0.0


@dataclass(frozen=True)
class MentionTraits:
    """What resolution reads off a mention besides its words: the product type it names
    (explicit, or implied by the head's partition when it names none), its audience, and
    its line words (with the catalog brand it names removed)."""

    kind: ProductType
    implied: bool  # the type was implied, not named
    audience: str  # named, or the head's when the mention names none
    words: frozenset[str]  # every normalised word, for the title's extra line words
    generic: bool  # names a kind of thing, not a brand or line: "body wash", "travel perfume atomizer"


def mention_traits(index: CatalogIndex, mention: str, head_id: str | None) -> MentionTraits:
    """A proper name with no type ("Viktor & Rolf Flowerbomb", said of a perfume) means the
    listing of the head partition's dominant form: the perfume, not its body lotion. A
    generic mention with no type constrains nothing. A mention naming no audience takes the
    head's ("Gucci Guilty eau de parfum" said of the women's Guilty is not Guilty Men)."""
    # Generic: no proper name. LLMs write names capitalised ("Nemat Amber perfume oil") and
    # kinds of thing in lower case ("sweet orange essential oil").
    generic = not any(word[:1].isupper() or any(ch.isdigit() for ch in word) for word in mention.split())
    kind = index.lexicon.of_text(mention)
    implied = False
    if not kind and not generic:
        form = index.implied_form(head_id)
        kind, implied = (ProductType(form, form), True) if form else (kind, False)
    audience = audience_of(mention) or index.audience_of(head_id)
    return MentionTraits(kind, implied, audience, frozenset(normalise_words(mention)), generic)


def normalise_words(text: str) -> list[str]:
    return normalise(text).split()


def _word_in(word: str, words: set[str] | frozenset[str]) -> bool:
    if word in words:
        return True
    return len(word) >= 5 and process.extractOne(word, words, scorer=fuzz.ratio, score_cutoff=85) is not None


def line_agreement(index: CatalogIndex, position: int, mention: str, traits: MentionTraits,
                   brand: str | None) -> tuple[list[str], list[str], float, float]:
    """(mention line words the title lacks, title line words the mention lacks, IDF share of
    each). A missing word means another line ("L'Eau de Chloe" vs a Chloe EDP); an extra one
    is the mark of a flanker ("Midnight Fantasy" for "Fantasy")."""
    own_brand = index.brands[position] if index.brands else None
    brands = " ".join(b for b in (own_brand, brand) if b)
    mention_line = line_words(mention, brands, index.lexicon)
    # The category words carry the type too ("Phones > Cases" for a "phone case").
    words = set(normalise_words(index.titles[position])) | set(index._categories[position].split())
    title_words = audience_canonical(words | {_singular(w) for w in words})
    title_line = line_words(index.titles[position], brands, index.lexicon)

    def weight(word: str) -> float:
        return index._idf.get(_singular(word), index._default_idf)

    missing = [w for w in mention_line if not _word_in(w, title_words)]
    # Extra title words mark a flanker ("Paris Hilton eau de parfum" is not Paris Hilton
    # Heiress) when the mention names the listing's brand (or, for a listing without a brand,
    # any proper name). A generic mention ("travel perfume atomizer") or one of another brand
    # or none ("Mother's Day card") leaves the listing's name open. Numbers are sizes more
    # often than names.
    named = [w for w in dict.fromkeys(title_line) if not w.isdigit()]
    mention_words = audience_canonical(traits.words)
    brand_words = set(normalise_words(own_brand)) - _NOT_LINE if own_brand else set()
    named_brand = set(normalise_words(brand)) if brand else set()
    names_brand = (bool(brand_words & traits.words) or (bool(named_brand) and named_brand <= title_words)
                   if brand_words else not traits.generic)
    extra = [] if traits.generic or not names_brand else [w for w in named if not _word_in(w, mention_words)]
    missing_share = sum(map(weight, missing)) / sum(map(weight, mention_line)) if mention_line else 0.0
    extra_share = sum(map(weight, extra)) / sum(map(weight, named)) if named else 0.0
    return missing, extra, missing_share, extra_share


def generic_words_missing(index: CatalogIndex, position: int, mention: str) -> list[str]:
    """Words of a generic mention the listing's title and category lack, compared exactly
    (singular or plural): for kinds of thing a look-alike is another kind ("shaving brush" is
    not a "shading brush", "cream deodorant" not a "deodorant powder")."""
    words = set(normalise_words(index.titles[position])) | set(index._categories[position].split())
    return [w for w in dict.fromkeys(normalise_words(mention))  # the title's own tokenisation
            if len(w) > 1 and not w.isdigit() and w not in _GENERIC_FILLER and words.isdisjoint(_word_forms(w))]


def _score_candidate(index: CatalogIndex, position: int, cosine: float, mention: str, norm_mention: str,
                     head_title: str, brand: str | None, traits: MentionTraits, config: ResolutionConfig) -> dict:
    title = index._norm_titles[position]
    typed = f"{index._categories[position]} {title}"
    overlap = max(fuzz.token_set_ratio(norm_mention, title), fuzz.token_set_ratio(norm_mention, typed)) / 100.0
    lexical = 0.6 * coverage(index, norm_mention.split(), position) + 0.4 * overlap
    affinity = head_affinity(head_title, index.titles[position]) if head_title else 0.0
    weight = config.weight_embedding + config.weight_lexical + (config.weight_head_affinity if head_title else 0.0)
    score = (config.weight_embedding * cosine + config.weight_lexical * lexical
             + (config.weight_head_affinity * affinity if head_title else 0.0)) / weight
    brand_match = None
    if brand is not None:  # the mention names a brand: other brands are unlikely to be meant
        brand_match = index._brands[position] == brand
        score += config.brand_bonus if brand_match else -config.brand_penalty
    missing, extra, missing_share, extra_share = line_agreement(index, position, mention, traits, brand)
    score -= config.line_extra_penalty * extra_share
    kind = index.types[position]
    conflicts = []
    if config.require_type_match:
        if not compatible(traits.kind, kind):
            conflicts.append(f"type: mention {'implies' if traits.implied else 'names'} {traits.kind.name!r}, "
                             f"listing is {kind.name!r}")
        if not audiences_compatible(traits.audience, index.audiences[position]):
            conflicts.append(f"audience: mention is for {traits.audience}, listing for {index.audiences[position]}")
    if missing_share > config.max_line_missing:
        conflicts.append(f"line: title lacks {', '.join(repr(w) for w in missing)}")
    if traits.generic and config.generic_words_exact:
        lacking = generic_words_missing(index, position, mention)
        if lacking:
            conflicts.append(f"kind: title lacks {', '.join(repr(w) for w in lacking)} (a generic mention names "
                             "its kind by every word)")
    if extra_share > config.max_line_extra:
        conflicts.append(f"line: title adds {', '.join(repr(w) for w in extra)} (another line)")
    return {
        "product_id": index.product_ids[position], "title": index.titles[position],
        # Clamped: bonuses must not push a score past its documented range [0, 1].
        "score": round(float(min(1.0, max(0.0, score))), 4), "cosine": round(cosine, 4), "lexical": round(lexical, 4),
        "head_affinity": round(affinity, 4), "brand_match": brand_match, "product_type": kind.name or None,
        "line_extra": extra, "conflicts": conflicts,
    }


def resolve_product_mentions(
    mentions: list[tuple[str | None, str]],  # (head_id or None, mention)
    mention_vectors: dict[str, np.ndarray],
    index: CatalogIndex,
    config: ResolutionConfig,
) -> list[ProductLink]:
    """Link each (head, mention) to a catalog product or leave it unresolved, with reasons.

    A link needs the best candidate's score above `product_threshold` *and* a margin of
    `min_margin` over the runner-up: when two products fit almost equally ("nail polish"
    against 700 nail polishes) the mention is ambiguous and stays unresolved.
    """
    if not mentions or not len(index):
        return [ProductLink("unresolved", None, 0.0, "catalog index is empty", []) for _ in mentions]
    distinct = sorted({m for _, m in mentions})
    norm = {m: lexical_form(m) for m in distinct}
    k = config.top_k + 1  # +1: the head is skipped
    matrix = np.stack([mention_vectors[m] for m in distinct])
    positions, similarities = index.search(matrix, k)
    lexical_positions = index.lexical_search([norm[m] for m in distinct], k)
    candidates: dict[str, dict[int, float]] = {}
    for row, m in enumerate(distinct):
        found = {int(p): float(c) for p, c in zip(positions[row], similarities[row]) if p >= 0}
        for p in lexical_positions[row]:
            if int(p) not in found:  # cosine of a lexical-only candidate
                found[int(p)] = float(np.dot(matrix[row], index.vectors[int(p)]))
        candidates[m] = found
    brands = {m: index.mentioned_brand(norm[m]) for m in distinct}

    links = []
    for head_id, mention in mentions:
        head_title = (index.title_of(head_id) or "") if head_id else ""
        exact = [p for p in index.exact_title(norm[mention]) if index.product_ids[p] != head_id]
        if len(exact) == 1:
            pid = index.product_ids[exact[0]]
            links.append(ProductLink("product", pid, 1.0, f"exact title match {index.titles[exact[0]]!r}",
                                     [{"product_id": pid, "title": index.titles[exact[0]], "score": 1.0}]))
            continue
        traits = mention_traits(index, mention, head_id)
        scored = [
            _score_candidate(index, p, cosine, mention, norm[mention], head_title, brands[mention], traits, config)
            for p, cosine in candidates[mention].items()
            # The head is never its own tail: an LLM asked what relates to a product means
            # another product, and linking the head would only make a self-loop.
            if index.product_ids[p] != head_id
        ]
        scored.sort(key=lambda c: (-c["score"], c["product_id"]))
        # Candidates that contradict the mention's type, audience or line are kept for the
        # record (top candidates) but cannot be linked, nor make a link ambiguous.
        eligible = [c for c in scored if not c["conflicts"]]
        top = (eligible[:5] + [c for c in scored if c["conflicts"]][:5])[:5] if eligible else scored[:5]
        best = eligible[0] if eligible else None
        margin = best["score"] - eligible[1]["score"] if len(eligible) > 1 else 1.0
        if best is None and scored and scored[0]["score"] >= config.product_threshold:
            blocked = scored[0]
            links.append(ProductLink(
                "unresolved", None, blocked["score"],
                f"no candidate agrees with the mention: best {blocked['title']!r} {blocked['score']:.2f} conflicts on "
                + "; ".join(blocked["conflicts"]),
                top,
            ))
        elif best and best["score"] >= config.product_threshold and (
                margin >= config.min_margin or traits.generic
                or _variants_of_one(index, best, eligible, brands[mention], config)):
            if margin < config.min_margin:
                tied = [c for c in eligible if best["score"] - c["score"] < config.min_margin + 1e-9]
                links.append(ProductLink(
                    "product", best["product_id"], best["score"],
                    f"best candidate {best['title']!r} scored {best['score']:.2f}; the {len(tied)} listings within "
                    f"{config.min_margin:.2f} of it " + (
                        "all fit the generic mention (any product of its type)" if traits.generic else
                        "are variants of one product (same line, type and audience)"),
                    top,
                ))
                continue
            links.append(ProductLink(
                "product", best["product_id"], best["score"],
                f"best candidate {best['title']!r} scored {best['score']:.2f} >= {config.product_threshold:.2f} "
                f"(cosine {best['cosine']:.2f}, lexical {best['lexical']:.2f}, margin {margin:.2f}"
                + (f", brand {'matches' if best['brand_match'] else 'differs'}" if best["brand_match"] is not None else "")
                + ")",
                top,
            ))
        elif best and best["score"] >= config.product_threshold:
            links.append(ProductLink(
                "unresolved", None, best["score"],
                f"ambiguous: {best['title']!r} {best['score']:.2f} and {eligible[1]['title']!r} {eligible[1]['score']:.2f} "
                f"are within {config.min_margin:.2f}",
                top,
            ))
        else:
            best = best or (scored[0] if scored else None)
            best_text = f"best {best['title']!r} {best['score']:.2f}" if best else "no candidates"
            links.append(ProductLink(
                "unresolved", None, best["score"] if best else 0.0,
                f"no catalog product close enough ({best_text} < {config.product_threshold:.2f})",
                top,
            ))
    return links


def variant_key(index: CatalogIndex, product_id: str, brand: str | None) -> tuple:
    """Listings with one key are variants of one product: same line words, type form, audience."""
    position = index._position[product_id]
    brands = " ".join(b for b in (index.brands[position] if index.brands else None, brand) if b)
    return (frozenset(line_words(index.titles[position], brands, index.lexicon)), index.types[position].form,
            index.audiences[position])


def _variants_of_one(index: CatalogIndex, best: dict, eligible: list[dict], brand: str | None,
                     config: ResolutionConfig) -> bool:
    """Are the candidates tied with the best all sizes, packs or concentrations of it? Then
    the mention names that product whichever listing is linked, and it is not ambiguous."""
    tied = [c for c in eligible if best["score"] - c["score"] < config.min_margin + 1e-9]
    key = variant_key(index, best["product_id"], brand)
    return all(variant_key(index, c["product_id"], brand) == key for c in tied)


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


# --------------------------------------------------------------------------- duplicates


@dataclass
class DuplicatePair:
    product_id: str
    duplicate_of: str
    cosine: float
    title_similarity: float
    reason: str


_UNIT_WORDS = {"oz", "ounce", "fl", "fluid", "ml", "g", "gram", "lb", "pound", "count", "ct", "pc", "piece",
               "pack", "of", "inch", "in", "mm", "cm", "size", "bottle", "jar", "tube"}


def _item_words(title: str) -> set[str]:
    """Words and numbers of a title, unit words dropped ("5.1-Ounce" -> {"5", "1"})."""
    spaced = re.sub(r"(\d)([a-z])", r"\1 \2", lexical_form(title))  # "5 1oz" -> "5 1 oz"
    return {w for w in spaced.split() if w not in _UNIT_WORDS}


def same_item_words(a: str, b: str, typo_ratio: float = 85.0) -> bool:
    """Do two titles name the same item (same line, shade, size and pack)?

    Shades, sizes and variants of one line ("... Cool Blonde" / "... Cool Brunette",
    "2-Ounce" / "8-Ounce", "35%" / "50%") differ in a word or a number and are not
    duplicates; "Spray Treatment, 5.1-Ounce" / "Spray Treatment 5.1oz." are. Numbers and codes must
    match exactly; a word on one side only must have a near-spelling on the other (typos,
    "SkinCeuticals"/"Skinceuticals").
    """
    left, right = _item_words(a), _item_words(b)
    for words, others in ((left - right, right), (right - left, left)):
        for word in words:
            if any(ch.isdigit() for ch in word) or process.extractOne(
                    word, others, scorer=fuzz.ratio, score_cutoff=typo_ratio) is None:
                return False
    return True


def find_duplicate_products(index: CatalogIndex, positions: list[int], min_cosine: float = 0.95,
                            min_title_ratio: float = 90.0, k: int = 5) -> list[DuplicatePair]:
    """Products that look like another listing of the same item, for a human to review.

    A pair is reported when the embeddings are nearly identical, the titles (lower-case,
    singular, punctuation-free) are near-identical by rapidfuzz's token_sort_ratio, and the
    brands agree (or one is missing). Nothing is merged: two shades or sizes of one line can
    look alike, so the report shows the evidence and leaves the decision to people.
    Each pair is reported once, from the product with the larger id.
    """
    if not positions or not len(index):
        return []
    dense, cosines = index.search(index.vectors[positions], k + 1)
    pairs = []
    for row, position in enumerate(positions):
        for other, cosine in zip(dense[row], cosines[row]):
            other = int(other)
            if other < 0 or other == position or cosine < min_cosine:
                continue
            if index.product_ids[other] > index.product_ids[position]:
                continue  # reported from the other side
            brands = index._brands[position], index._brands[other]
            if all(brands) and brands[0] != brands[1]:
                continue
            ratio = fuzz.token_sort_ratio(index._norm_titles[position], index._norm_titles[other])
            if ratio < min_title_ratio or not same_item_words(index.titles[position], index.titles[other]):
                continue
            pairs.append(DuplicatePair(
                index.product_ids[position], index.product_ids[other], round(float(cosine), 4), round(ratio / 100, 4),
                f"cosine {cosine:.3f} >= {min_cosine}, title similarity {ratio:.0f} >= {min_title_ratio:.0f}"
                + (", same brand" if all(brands) else ", brand missing on one side"),
            ))
    return pairs


def is_ambiguous(link: ProductLink) -> bool:
    return link.decision == "unresolved" and link.reason.startswith("ambiguous")


def tied_candidates(link: ProductLink, config: ResolutionConfig) -> list[dict]:
    """The candidates an ambiguous link could not choose between (within `min_margin` of the best)."""
    if not is_ambiguous(link) or not link.candidates:
        return []
    best = link.candidates[0]["score"]
    return [c for c in link.candidates if best - c["score"] < config.min_margin + 1e-9 and not c.get("conflicts")]


def break_ties_by_behaviour(head_id: str | None, link: ProductLink, shared_users: dict[tuple[str, str], int],
                            config: ResolutionConfig) -> ProductLink:
    """Settle an ambiguous link with what customers did: the one tied candidate bought with the head.

    "Suave Moroccan Infusion Shampoo" fits five listings (sizes, packs) equally well by
    text; if exactly the most-bought-with-the-head of them has more shared users than any
    other, that is the one the LLM's relation is about. `shared_users` maps (head, candidate)
    to users who interacted with both. Other links are returned unchanged. The gate's
    behaviour signal then shares this evidence; the reason says so.
    """
    tied = tied_candidates(link, config)
    if head_id is None or len(tied) < 2:
        return link
    ranked = sorted(((shared_users.get((head_id, c["product_id"]), 0), c) for c in tied),
                    key=lambda pair: (-pair[0], pair[1]["product_id"]))
    (top_users, chosen), (next_users, _) = ranked[0], ranked[1]
    if top_users <= 0 or top_users == next_users:
        return link
    return ProductLink(
        "product", chosen["product_id"], chosen["score"],
        f"ambiguous between {len(tied)} listings by text; chose {chosen['title']!r}: {top_users} users "
        f"interacted with it and the head (next best {next_users})",
        link.candidates,
    )


def product_traits(index: CatalogIndex) -> dict:
    """Every product's type, form, audience and line words, for the gate's relation rules.
    Computed once per index: every gate partition of a catalog version asks for all of them."""
    from pkg_assets.core.gate import ProductTraits

    cached = getattr(index, "_product_traits", None)
    if cached is not None:
        return cached
    out = {}
    for position, pid in enumerate(index.product_ids):
        kind = index.types[position]
        brand = index.brands[position] if index.brands else None
        # The maker's name is no part of the line, whether or not the brand field holds it:
        # "Shalimar By Guerlain" (no brand) and "Shalimar" (brand Guerlain) are one line.
        line = set(line_words(index.titles[position], brand, index.lexicon, drop_maker=True))
        out[pid] = ProductTraits(kind.name, kind.form, index.audiences[position],
                                 frozenset(line))
    index._product_traits = out
    return out
