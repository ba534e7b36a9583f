"""Catalog and interaction ingest: every value read, cleaned, nulled or quarantined, and counted.

`load_products` and `load_interactions` read a source (see `core/readers.py` for the file
layer) and split it into kept rows and quarantined rows, each quarantined row with its
reason and `file:line`. Nothing is dropped or rewritten silently:

- a **required** value that cannot be read (no product id, a title that is empty, markup or
  scraped code once cleaned, a position that is not an integer in range) quarantines the row;
- an **optional** value that cannot be read (price, brand, timestamp) is nulled and named in
  the row's `parse_flags`, and the row is kept;
- every cleaning step that changed a value (entities, markup, invisible characters) and every
  nulled value is a row of `decisions`, which the assets count in their metadata;
- a column that parses to mostly null (more than half of its present values) is an error
  naming the column, the file and a sample value: a wrong setting, not dirty data.

Keys are never rewritten: product and user ids are kept byte-exact (`A&amp;B` and `A&B` are two
products); titles, brands, descriptions and category names are cleaned for display
(`core/text.py`). Timestamps are ISO 8601, Unix seconds or Unix milliseconds, detected from
the values and reported.

Supported sources (format "auto" picks by looking at the path):

- the demo layout: a folder with `products.jsonl` (+ `interactions.csv`);
- a generic CSV/TSV (any separator, any encoding, with or without a header) or Parquet
  catalog, with an optional column mapping (our name -> yours); a folder with `products.csv`
  + `interactions.csv` (the `amazon-beauty` layout) needs no mapping;
- Amazon product metadata as JSON lines, plain or gzipped, in the 2014 schema (Python
  literal lines, `categories`: list of paths) and the 2018 schema (JSON, `category` list,
  `description` list, price as "$12.99"); reviews (`reviewerID`, `asin`, `unixReviewTime`)
  as interactions.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from pkg_assets.core.readers import CatalogError, RawRecords, ReaderOptions, parse_json_line, read_records
from pkg_assets.core.text import display_text, has_markup, looks_like_code, unescape

PRODUCT_COLUMNS: tuple[str, ...] = (
    "product_id", "title", "brand", "price", "category_path", "description",
)
REQUIRED_PRODUCT_COLUMNS: tuple[str, ...] = ("product_id", "title")
INTERACTION_COLUMNS: tuple[str, ...] = ("user_id", "product_id", "position", "session_id", "ts")
REQUIRED_INTERACTION_COLUMNS: tuple[str, ...] = ("user_id", "product_id")
UNCATEGORIZED = "Uncategorized"
# `products_rejected.category` of a line that could not be read at all (no category to take):
# written by every partition's run, never a partition itself.
UNREADABLE_LINES = "(unreadable lines)"
MOSTLY_NULL = 0.5        # share of present values that fail to parse, above which a column is an error
MAX_POSITION = 2 ** 53   # positions beyond this are not exact in a double, and no real log has them
MAX_DEPTH_CATEGORY = 32

# Dagster refuses partition keys containing these; category names are mapped around them.
_PARTITION_KEY_FORBIDDEN = re.compile(r"[\[\],]|\.\.\.")


@dataclass(frozen=True)
class CatalogSource:
    """Where the catalog lives and how to read it."""

    products_path: Path
    fmt: str  # demo | csv | parquet | amazon-json
    interactions_path: Path | None
    interactions_fmt: str | None  # csv | parquet | amazon-reviews | jsonl


@dataclass(frozen=True)
class IngestOptions:
    """Every reader setting; `resources/catalog.py` fills it from `PKG_CATALOG_*` and
    `PKG_INTERACTIONS_*` (README: "Your own catalog")."""

    products: ReaderOptions = ReaderOptions()
    interactions: ReaderOptions = ReaderOptions()
    column_map: dict[str, str] = field(default_factory=dict)               # our column -> yours
    interaction_column_map: dict[str, str] = field(default_factory=dict)
    category_level: int = 2
    category_sep: str = ">"
    max_categories: int = 200
    max_price: float = 1_000_000.0
    ts_format: str = "auto"   # auto | iso | unix_s | unix_ms | a strftime pattern


@dataclass
class ProductsRead:
    products: pd.DataFrame
    rejected: pd.DataFrame     # category, product_id, source_file, source_row, source_line, reason, raw
    decisions: pd.DataFrame    # category, field, decision, detail: values cleaned or nulled
    facts: dict                # how the file was read


@dataclass
class InteractionsRead:
    kept: pd.DataFrame
    rejected: pd.DataFrame
    decisions: pd.DataFrame    # field, decision, detail
    facts: dict


# ----------------------------------------------------------------------------- detection


def resolve_source(
    path: str | Path,
    fmt: str = "auto",
    interactions_path: str | Path | None = None,
) -> CatalogSource:
    """Work out which files to read. Errors name the path and what was expected."""
    path = Path(path).expanduser()
    if not path.exists():
        raise CatalogError(f"catalog path {path} does not exist")
    products_path = path
    found_interactions: Path | None = None
    if path.is_dir():
        for name, detected in (
            ("products.jsonl", "demo"),
            ("products.csv", "csv"),
            ("products.parquet", "parquet"),
        ):
            if (path / name).exists():
                products_path = path / name
                fmt = detected if fmt == "auto" else fmt
                break
        else:
            raise CatalogError(
                f"catalog folder {path} has no products.jsonl, products.csv or products.parquet"
            )
        for name in ("interactions.csv", "interactions.parquet"):
            if (path / name).exists():
                found_interactions = path / name
                break
    elif fmt == "auto":
        fmt = _format_of_file(path)

    if fmt not in {"demo", "csv", "parquet", "amazon-json"}:
        raise CatalogError(f"unknown catalog format {fmt!r} for {path}; "
                           "PKG_CATALOG_FORMAT is one of auto, demo (JSON lines), csv, parquet, amazon-json")

    chosen = Path(interactions_path).expanduser() if interactions_path else found_interactions
    if chosen is not None and not chosen.exists():
        raise CatalogError(f"interactions path {chosen} does not exist")
    if chosen is not None and chosen.is_dir():
        raise CatalogError(f"interactions path {chosen} is a folder; give the file")
    return CatalogSource(
        products_path=products_path,
        fmt=fmt,
        interactions_path=chosen,
        interactions_fmt=_interactions_format(chosen) if chosen else None,
    )


def _format_of_file(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz", ".psv", ".tab")):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")):
        first = _first_json_object(path)
        return "amazon-json" if first is not None and "asin" in first else "demo"
    raise CatalogError(f"cannot tell the catalog format of {path}; set PKG_CATALOG_FORMAT "
                       "(demo, csv, parquet or amazon-json)")


def _first_json_object(path: Path) -> dict | None:
    """The first readable object among a file's first lines (format detection only)."""
    import gzip
    import zlib

    with open(path, "rb") as handle:
        opener = gzip.open if handle.read(2) == b"\x1f\x8b" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
            for _, line in zip(range(50), handle):
                value, _reason = parse_json_line(line.strip()) if line.strip() else (None, "blank")
                if isinstance(value, dict):
                    return value
    except (EOFError, OSError, zlib.error):
        return None
    return None


def _interactions_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz")):
        first = _first_json_object(path) or {}
        return "amazon-reviews" if "reviewerID" in first else "jsonl"
    return "csv"


def file_fingerprint(*paths: Path | None) -> str:
    """Content hash of the source files: the observable asset's data version."""
    digest = hashlib.sha256()
    for path in paths:
        if path is None:
            continue
        digest.update(path.name.encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:20]


# ------------------------------------------------------------------------------ mapping


def _map_columns(raw: RawRecords, targets: tuple[str, ...], required: tuple[str, ...],
                 column_map: dict[str, str], path: Path, options: ReaderOptions, mapping_env: str) -> pd.DataFrame:
    """Raw values under our column names (absent optional columns are None)."""
    frame = raw.frame
    unknown = set(column_map) - set(targets)
    if unknown:
        raise CatalogError(f"{mapping_env} names unknown target column(s) {sorted(unknown)}; "
                           f"targets are {list(targets)}")
    out = pd.DataFrame(index=frame.index)
    for column in targets:
        source_column = column_map.get(column, column)
        if source_column in frame.columns:
            out[column] = frame[source_column]
        elif column in required or column in column_map:
            raise CatalogError(_missing_column_message(column, source_column, frame, path, options, mapping_env))
        else:
            out[column] = None
    out["source_row"] = frame["source_row"]
    out["source_line"] = frame["source_line"]
    return out


def _missing_column_message(column: str, source_column: str, frame: pd.DataFrame, path: Path,
                            options: ReaderOptions, mapping_env: str) -> str:
    present = [str(c) for c in frame.columns if c not in ("source_row", "source_line")]
    mapped = f" (mapped from {source_column!r})" if source_column != column else ""
    hints = []
    if len(present) == 1 and any(sep in present[0] for sep in ",;\t|"):
        seps = [sep for sep in ",;\t|" if sep in present[0]]
        hints.append(f"The header reads as one column: is the separator {seps[0]!r}? "
                     f"set {options.env_prefix}_SEP")
    if present and not options.names and all(_looks_like_a_value(c) for c in present):
        hints.append(f"The first line looks like data, not a header: set {options.env_prefix}_NAMES "
                     f"to the column names in order (e.g. {','.join(('product_id', 'title'))},...)")
    if not hints:
        hints.append(f"Map it with {mapping_env}=\"{column}=<your column>\"")
    return (f"required column {column!r}{mapped} is missing in {path}; columns present: "
            f"{sorted(present)[:20]}. " + "; ".join(hints))


def _looks_like_a_value(name: str) -> bool:
    return bool(re.search(r"\d", name)) or " " in name.strip() or len(name) > 40


# -------------------------------------------------------------------------- value parsing


def clean_text(value: object) -> str:
    """Catalog text for display and matching (see `core.text.display_text`)."""
    if _is_missing(value):
        return ""
    return display_text(value)


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and value.strip().lower() in {"", "nan", "none", "null", "n/a", "na"}


def _sample(value: object, width: int = 40) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, (list, tuple, dict, np.ndarray)):
        text = json.dumps(_jsonable(value), ensure_ascii=False)
    else:
        return repr(value.item() if isinstance(value, np.generic) else value)
    text = " ".join(text.split())
    return repr(text[:width] + ("…" if len(text) > width else ""))


_CURRENCY = r"(?:[$€£¥₹]|USD|EUR|GBP|US\$)?"
_PRICE_RE = re.compile(rf"^{_CURRENCY}\s*(\d{{1,3}}(?:,\d{{3}})+|\d+)(\.\d+)?\s*{_CURRENCY}$", re.IGNORECASE)
_PRICE_RANGE_RE = re.compile(rf"^{_CURRENCY}\s*[\d.,]+\s*[-–]\s*{_CURRENCY}\s*[\d.,]+$")


def parse_price(value: object, max_price: float = 1_000_000.0) -> tuple[float | None, str | None]:
    """(price, None), (None, None) when absent, or (None, why it cannot be a price)."""
    if _is_missing(value):
        return None, None
    if isinstance(value, bool):
        return None, f"not a number ({value!r})"
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
    else:
        text = clean_text(value)
        if not text:
            return None, f"markup only ({_sample(value)})"
        if _PRICE_RANGE_RE.match(text):
            return None, f"a price range ({_sample(text)})"
        match = _PRICE_RE.match(text)
        if not match:
            return None, f"not a number ({_sample(value)})"
        number = float(match.group(1).replace(",", "") + (match.group(2) or ""))
    if not math.isfinite(number) or number < 0 or number > max_price:
        return None, f"out of range ({_sample(value)}; prices are 0 to {max_price:g})"
    return number, None


def category_parts(value: object, sep: str = ">") -> tuple[list[str], str | None]:
    """A category path as its cleaned names, from a path string, a list, a list of lists (the
    first path), or any of these written as a JSON/Python literal in a text cell."""
    if isinstance(value, str):  # catalogs repeat a few thousand paths over millions of rows
        parts, note = _text_category_parts(value, sep)
        return list(parts), note
    return _category_parts(value, sep)


@functools.lru_cache(maxsize=65536)
def _text_category_parts(value: str, sep: str) -> tuple[tuple[str, ...], str | None]:
    parts, note = _category_parts(value, sep)
    return tuple(parts), note


def _category_parts(value: object, sep: str) -> tuple[list[str], str | None]:
    if _is_missing(value):
        return [], None
    note = None
    if isinstance(value, str) and value.lstrip().startswith("["):
        literal, reason = parse_json_line(value.strip())
        if reason is not None and value.strip().startswith("["):
            try:
                literal = ast.literal_eval(value.strip())
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                literal = None
        if isinstance(literal, (list, tuple)):
            value = literal
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        paths = [item for item in value if isinstance(item, (list, tuple, np.ndarray))]
        if paths:
            non_empty = [list(p) for p in paths if len(p)]
            if len(non_empty) > 1:
                note = f"first of {len(non_empty)} paths"
            value = non_empty[0] if non_empty else []
        parts = [clean_text(part) for part in value if not isinstance(part, (list, tuple, dict))]
    else:
        parts = [clean_text(part) for part in str(value).split(sep)] if sep else [clean_text(value)]
    return [part for part in parts if part][:MAX_DEPTH_CATEGORY], note


def category_at_level(parts: list[str] | str, level: int, sep: str = ">") -> str:
    """The partition a product belongs to: the `level`-th name (1-based) of its path.

    Shorter paths use their deepest name; products with no path are "Uncategorized".
    """
    if isinstance(parts, str):
        parts = [part.strip() for part in parts.split(sep) if part.strip()]
    if not parts:
        return UNCATEGORIZED
    return partition_safe(parts[min(level, len(parts)) - 1])


def partition_safe(name: str) -> str:
    return _PARTITION_KEY_FORBIDDEN.sub(" ", name).strip() or UNCATEGORIZED


def content_hash(row: dict) -> str:
    payload = "\x1f".join(str(row.get(column) if row.get(column) is not None else "") for column in PRODUCT_COLUMNS)
    return hashlib.sha1(payload.encode()).hexdigest()[:16]


def _key(value: object) -> str | None:
    """An id as a key: text kept byte-exact; None when absent or not a scalar."""
    if _is_missing(value) or isinstance(value, (list, dict, tuple, bool, np.ndarray)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = value if isinstance(value, str) else str(value)
    return text if display_text(text) else None


_SIZE = re.compile(
    r"\(.*?\)|\b\d+(\.\d+)?\s*-?\s*(fl\.?\s*)?(oz|ounce|ounces|ml|g|gram|grams|lb|lbs|pound|count|ct|pc|pcs|piece|"
    r"pieces|pack|inch|in|mm|cm)\b\.?|\bpack of \d+\b|\bset of \d+\b|\b\d+\s*-?\s*pack\b",
    re.IGNORECASE,
)


def strip_sizes(title: str) -> str:
    """A title without sizes, counts and packaging ("5.1-Ounce", "(Pack of 2)", "12 ct")."""
    text = _SIZE.sub(" ", title)
    text = re.sub(r"[,;:/]+", " ", text)
    return " ".join(text.split()).strip(" -")


# ------------------------------------------------------------------------------- products


def read_products_raw(source: CatalogSource, options: IngestOptions | None = None) -> tuple[pd.DataFrame, RawRecords]:
    """The products file's raw values under our column names, and the file as read."""
    options = _named(options or IngestOptions())
    path = source.products_path
    if source.fmt == "amazon-json":
        raw = read_records(path, "jsonl", options.products)
        raw.frame = _amazon_products(raw.frame)
        frame = _map_columns(raw, PRODUCT_COLUMNS, REQUIRED_PRODUCT_COLUMNS, {}, path, options.products,
                             "PKG_CATALOG_COLUMNS")
    else:
        fmt = {"demo": "jsonl", "csv": "csv", "parquet": "parquet"}[source.fmt]
        raw = read_records(path, fmt, options.products)
        frame = _map_columns(raw, PRODUCT_COLUMNS, REQUIRED_PRODUCT_COLUMNS, options.column_map, path,
                             options.products, "PKG_CATALOG_COLUMNS")
    _refuse_mostly_quarantined(raw, path)
    return frame, raw


def _named(options: IngestOptions) -> IngestOptions:
    """Errors name the environment variables a user sets for each file."""
    return dataclasses.replace(
        options, products=dataclasses.replace(options.products, env_prefix="PKG_CATALOG"),
        interactions=dataclasses.replace(options.interactions, env_prefix="PKG_INTERACTIONS"))


def _refuse_mostly_quarantined(raw: RawRecords, path: Path) -> None:
    bad = [q for q in raw.quarantined if not q["reason"].startswith("truncated file")]
    if bad and len(bad) > len(raw.frame):
        first = bad[0]
        raise CatalogError(
            f"{path}: {len(bad)} of {len(bad) + len(raw.frame)} lines cannot be read "
            f"(line {first['source_line']}: {first['reason']}: {_sample(first['raw'], 60)}); "
            "is the format, separator or encoding right?")


def _amazon_products(frame: pd.DataFrame) -> pd.DataFrame:
    """Amazon metadata (2014 or 2018 schema) under our column names, values as they came."""
    def column(name: str) -> pd.Series:
        return frame[name] if name in frame.columns else pd.Series([None] * len(frame), index=frame.index,
                                                                      dtype=object)

    category = column("categories") if "categories" in frame.columns else column("category")
    if "main_cat" in frame.columns:  # 2018: the main category when the path is empty
        empty = category.map(lambda v: _is_missing(v) or (isinstance(v, (list, tuple)) and not len(v)))
        category = category.where(~empty, frame["main_cat"])
    description = column("description").map(
        lambda v: " ".join(str(part) for part in v) if isinstance(v, (list, tuple)) else v)
    return pd.DataFrame({
        "product_id": column("asin"), "title": column("title"), "brand": column("brand"),
        "price": column("price"), "category_path": category, "description": description,
        "source_row": frame["source_row"], "source_line": frame["source_line"],
    })


def normalise_products(frame: pd.DataFrame, options: IngestOptions | None = None,
                       source_file: str = "") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Split mapped raw rows into (products, rejected, decisions). Every row lands in exactly
    one of products and rejected; decisions names every value cleaned or nulled."""
    options = options or IngestOptions()
    if options.category_level < 1:
        raise CatalogError(f"category level must be >= 1, got {options.category_level}")
    accepted: list[dict] = []
    rejected: list[dict] = []
    decisions: list[tuple[str, str, str, str]] = []
    first_row_of: dict[str, int] = {}
    for record in frame.to_dict("records"):
        parts, category_note = category_parts(record.get("category_path"), options.category_sep)
        category = category_at_level(parts, options.category_level)
        product_id = _key(record.get("product_id"))
        raw_title = record.get("title")
        title = clean_text(raw_title) if not isinstance(raw_title, (list, dict)) else ""
        reason = None
        if product_id is None:
            reason = "missing product_id" if _is_missing(record.get("product_id")) or isinstance(
                record.get("product_id"), str) else "product_id is not text"
        elif isinstance(raw_title, (list, dict)):
            reason = "title is not text"
        elif not title:
            if isinstance(raw_title, str) and has_markup(unescape(raw_title)):
                reason = "title is markup"
            elif isinstance(raw_title, str) and raw_title.strip():
                reason = "empty title (only invisible characters)"
            else:
                reason = "empty title"
        elif looks_like_code(title):
            reason = "title is scraped code (CSS or script)"
        elif product_id in first_row_of:
            reason = f"duplicate product_id (first seen at row {first_row_of[product_id]})"
        if reason:
            rejected.append({
                "category": category,
                "product_id": product_id if product_id is not None else (
                    None if _is_missing(record.get("product_id")) else str(record.get("product_id"))),
                "source_file": source_file,
                "source_row": int(record["source_row"]),
                "source_line": int(record["source_line"]),
                "reason": reason,
                "raw": _raw_json(record),
            })
            continue
        first_row_of[product_id] = int(record["source_row"])
        flags: list[str] = []

        def decide(column: str, decision: str, detail: str) -> None:
            decisions.append((category, column, decision, detail))
            if decision == "nulled":
                flags.append(f"{column}: {detail}")

        price, price_problem = parse_price(record.get("price"), options.max_price)
        if price_problem:
            decide("price", "nulled", price_problem)
        raw_brand = record.get("brand")
        brand = None
        if isinstance(raw_brand, (list, dict)):
            decide("brand", "nulled", f"not text ({_sample(raw_brand)})")
        elif not _is_missing(raw_brand):
            brand = clean_text(raw_brand) or None
            if brand is None:
                decide("brand", "nulled", f"markup only ({_sample(raw_brand)})")
            elif looks_like_code(brand):
                decide("brand", "nulled", f"scraped code ({_sample(raw_brand)})")
                brand = None
        description = clean_text(record.get("description"))
        for column, before, after in (("title", raw_title, title), ("brand", raw_brand, brand),
                                      ("description", record.get("description"), description)):
            if after and isinstance(before, str) and before.strip() != after:
                decide(column, "cleaned", _cleaning_kind(before))
        if category_note:
            decide("category_path", "cleaned", category_note)
        if display_text(product_id) != product_id:
            decide("product_id", "kept byte-exact", "differs from its display form")
        row = {
            "product_id": product_id,
            "title": title,
            "brand": brand,
            "price": price,
            "category_path": " > ".join(parts),
            "category": category,
            "description": description,
        }
        row["content_hash"] = content_hash(row)
        row["source_file"] = source_file
        row["parse_flags"] = "; ".join(flags) or None
        accepted.append(row)
    products = pd.DataFrame.from_records(
        accepted,
        columns=[*PRODUCT_COLUMNS[:5], "category", "description", "content_hash", "source_file", "parse_flags"],
    )
    products["price"] = products["price"].astype("float64")
    rejected_frame = pd.DataFrame.from_records(
        rejected, columns=["category", "product_id", "source_file", "source_row", "source_line", "reason", "raw"]
    )
    decision_frame = pd.DataFrame.from_records(decisions, columns=["category", "field", "decision", "detail"])
    return products, rejected_frame, decision_frame


def _cleaning_kind(before: str) -> str:
    kinds = []
    if "&" in before and re.search(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", before, re.IGNORECASE):
        kinds.append("entities")
    if has_markup(before):
        kinds.append("markup")
    if not kinds:
        kinds.append("spaces or invisible characters")
    return " + ".join(kinds)


def _raw_json(record: dict) -> str:
    return json.dumps({k: _jsonable(v) for k, v in record.items()}, ensure_ascii=False)


def _jsonable(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (np.integer, np.floating)):
        return _jsonable(value.item())
    return str(value)


def load_products(source: CatalogSource, options: IngestOptions | None = None) -> ProductsRead:
    """Read and normalise the whole catalog; see the module docstring for what is counted."""
    options = options or IngestOptions()
    frame, raw = read_products_raw(source, options)
    products, rejected, decisions = normalise_products(frame, options, str(source.products_path))
    lines = pd.DataFrame.from_records([
        {"category": UNREADABLE_LINES, "product_id": None, "source_file": str(source.products_path),
         "source_row": None, "source_line": q["source_line"], "reason": q["reason"], "raw": q["raw"]}
        for q in raw.quarantined
    ], columns=rejected.columns)
    rejected = pd.concat([rejected, lines], ignore_index=True) if len(lines) else rejected
    _refuse_mostly_null(decisions, products, "price", options.column_map.get("price", "price"),
                        source.products_path, "PKG_CATALOG_COLUMNS")
    facts = {**raw.facts, "file": str(source.products_path), "catalog_format": source.fmt,
             "category_level": options.category_level, "category_separator": options.category_sep}
    _refuse_too_many_categories(products, rejected, frame, options)
    return ProductsRead(products, rejected, decisions, facts)


def _refuse_mostly_null(decisions: pd.DataFrame, kept: pd.DataFrame, column: str, source_column: str,
                        path: Path, mapping_env: str, hint: str = "") -> None:
    nulled = decisions[(decisions["field"] == column) & (decisions["decision"] == "nulled")]
    parsed = int(kept[column].notna().sum())
    if len(nulled) and len(nulled) > MOSTLY_NULL * (len(nulled) + parsed):
        raise CatalogError(
            f"column {source_column!r} of {path}: {len(nulled)} of {len(nulled) + parsed} values cannot be read "
            f"as {column} (e.g. {nulled['detail'].iloc[0]}). Is it the right column? Map another with "
            f"{mapping_env}=\"{column}=<your column>\"{hint}")


def _refuse_too_many_categories(products: pd.DataFrame, rejected: pd.DataFrame, frame: pd.DataFrame,
                                options: IngestOptions) -> None:
    categories = set(products["category"]) | set(rejected["category"])
    if len(categories) <= options.max_categories:
        return
    paths = [category_parts(value, options.category_sep)[0] for value in frame["category_path"]]
    by_level = {level: len({category_at_level(p, level) for p in paths})
                for level in range(1, max((len(p) for p in paths), default=1) + 1)}
    fitting = [level for level, n in by_level.items() if n <= options.max_categories]
    suggestion = (f"PKG_CATEGORY_LEVEL={max(fitting)} gives {by_level[max(fitting)]:,}"
                  if fitting else "no level gives fewer")
    raise CatalogError(
        f"the catalog has {len(categories):,} categories at level {options.category_level}, more than "
        f"PKG_MAX_CATEGORIES={options.max_categories} (each is a partition with its own runs). "
        f"Categories per level: {by_level}. {suggestion}; or raise PKG_MAX_CATEGORIES, or check "
        f"PKG_CATEGORY_SEP (now {options.category_sep!r})")


# --------------------------------------------------------------------------- interactions


def _map_distinct(values: pd.Series, function) -> pd.Series:
    """`values.map(function)`, computed once per distinct value (ids repeat in event logs)."""
    try:
        distinct = pd.unique(values)
    except TypeError:  # unhashable values (a list in a JSON field): one by one
        return values.map(function)
    return values.map(dict(zip(distinct, map(function, distinct))))


def parse_positions(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(Int64 positions, reason for each value that is not an integer in range, else NA)."""
    text = values.astype(str).str.strip() if values.dtype == object else values.astype(str)
    plain = text.str.fullmatch(r"[+-]?\d{1,15}").fillna(False).astype(bool)  # in range by construction
    positions = pd.Series(pd.NA, index=values.index, dtype="Int64")
    positions[plain] = text[plain].astype("int64")
    reasons = pd.Series(None, index=values.index, dtype="object")
    for index in values.index[~plain]:  # the rest, one by one: floats, exponents, junk, huge numbers
        positions[index], reasons[index] = _position(values[index])
    return positions, reasons


def _position(value: object) -> tuple[int | None, str | None]:
    if _is_missing(value):
        return None, "missing position"
    if isinstance(value, bool):
        return None, "unparsable position"
    if isinstance(value, (int, np.integer)):
        number = int(value)
    elif isinstance(value, (float, np.floating)):
        if not math.isfinite(value) or not float(value).is_integer():
            return None, "unparsable position"
        number = int(value)
    else:
        text = str(value).strip()
        if re.fullmatch(r"[+-]?\d+", text):
            number = int(text)
        else:
            try:
                as_float = float(text)
            except ValueError:
                return None, "unparsable position"
            if not math.isfinite(as_float) or not as_float.is_integer():
                return None, "unparsable position" if not math.isinf(as_float) else "position out of range"
            number = int(as_float)
    if abs(number) > MAX_POSITION:
        return None, "position out of range"
    return number, None


_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
_UNITS = {"unix_s": "s", "unix_ms": "ms", "unix_us": "us", "unix_ns": "ns"}
_UNIT_NAMES = {"s": "Unix seconds", "ms": "Unix milliseconds", "us": "Unix microseconds", "ns": "Unix nanoseconds"}


def parse_timestamps(values: pd.Series, ts_format: str = "auto") -> tuple[pd.Series, pd.Series, str]:
    """(timestamps, reason for each present value that could not be read, what was detected).

    auto: numbers are Unix time, the unit chosen by magnitude (seconds below 1e11, i.e. until
    the year 5138; milliseconds below 1e14; then micro- and nanoseconds); text is ISO 8601.
    """
    present = ~values.map(_is_missing)
    text = values.where(present, None).map(lambda v: None if v is None else (
        "bool" if isinstance(v, bool) else (repr(float(v)) if isinstance(v, (float, np.floating)) else str(v).strip())))
    numeric = text.map(lambda v: v is not None and bool(_NUMBER.fullmatch(v)))
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    detected = "none present"
    if ts_format not in {"auto", "iso"} and ts_format not in _UNITS and "%" not in ts_format:
        raise CatalogError(f"PKG_INTERACTIONS_TS_FORMAT={ts_format!r}: use auto, iso, unix_s, unix_ms, "
                           "unix_us, unix_ns or a strftime pattern such as %d/%m/%Y %H:%M")
    if "%" in ts_format:
        out[present] = _to_naive_utc(pd.to_datetime(text[present], format=ts_format, errors="coerce", utc=True))
        detected = f"{ts_format!r} (set)"
    else:
        unit = _UNITS.get(ts_format)
        numbers = pd.to_numeric(text[numeric], errors="coerce")
        if unit is None and ts_format == "auto" and numeric.sum() and numeric.sum() >= 0.5 * present.sum():
            magnitude = float(numbers.abs().median())
            unit = "s" if magnitude < 1e11 else "ms" if magnitude < 1e14 else "us" if magnitude < 1e17 else "ns"
            detected = f"{_UNIT_NAMES[unit]} (detected)"
        elif unit is not None:
            detected = f"{_UNIT_NAMES[unit]} (set)"
        if unit is not None and numeric.any():
            with np.errstate(all="ignore"):
                out[numeric] = _to_naive_utc(pd.to_datetime(numbers, unit=unit, errors="coerce", utc=True))
        iso = present & ~numeric if unit is not None else present
        if iso.any():
            out[iso] = _to_naive_utc(pd.to_datetime(text[iso], format="ISO8601", errors="coerce", utc=True))
            if unit is None:
                detected = "ISO 8601 (detected)" if ts_format == "auto" else "ISO 8601 (set)"
    failed = present & out.isna()
    reasons = pd.Series(None, index=values.index, dtype="object")
    reasons[failed] = text[failed].map(lambda v: f"unreadable timestamp ({_sample(v)})")
    return out, reasons, detected


def _to_naive_utc(stamps: pd.Series) -> pd.Series:
    return stamps.dt.tz_convert(None).astype("datetime64[ns]")


def read_interactions_raw(source: CatalogSource, options: IngestOptions | None = None) -> tuple[pd.DataFrame, RawRecords]:
    options = _named(options or IngestOptions())
    path = source.interactions_path
    if source.interactions_fmt == "amazon-reviews":
        raw = read_records(path, "jsonl", options.interactions)
        mapping = {"user_id": "reviewerID", "product_id": "asin", "ts": "unixReviewTime",
                   **options.interaction_column_map}
    else:
        fmt = {"parquet": "parquet", "jsonl": "jsonl"}.get(source.interactions_fmt, "csv")
        raw = read_records(path, fmt, options.interactions)
        mapping = options.interaction_column_map
    frame = _map_columns(raw, INTERACTION_COLUMNS, REQUIRED_INTERACTION_COLUMNS, mapping, path,
                         options.interactions, "PKG_INTERACTIONS_COLUMNS")
    frame.attrs["has"] = {c: (mapping.get(c, c) in raw.frame.columns) for c in INTERACTION_COLUMNS}
    _refuse_mostly_quarantined(raw, path)
    return frame, raw


def load_interactions(source: CatalogSource, known_products: set[str],
                      options: IngestOptions | None = None) -> InteractionsRead:
    """Interactions as (kept, rejected, decisions, facts). A row needs a user, a catalog
    product and, when the file has positions, an integer position; a timestamp that cannot be
    read is nulled and flagged. Without positions, each user's history is ordered by time
    where known, else by file order."""
    options = options or IngestOptions()
    empty = pd.DataFrame(columns=[*INTERACTION_COLUMNS, "parse_flags"])
    if source.interactions_path is None:
        return InteractionsRead(empty, _empty_interaction_rejects(), pd.DataFrame(columns=["field", "decision", "detail"]),
                                {"file": None})
    frame, raw = read_interactions_raw(source, options)
    has = frame.attrs["has"]
    path = source.interactions_path
    decisions: list[tuple[str, str, str]] = []
    out = pd.DataFrame({
        "user_id": _map_distinct(frame["user_id"], _key),
        "product_id": _map_distinct(frame["product_id"], _key),
        "session_id": _map_distinct(frame["session_id"], _key) if has["session_id"] else None,
        "source_row": frame["source_row"], "source_line": frame["source_line"],
    })
    reason = pd.Series(None, index=frame.index, dtype="object")
    if has["ts"]:
        stamps, ts_problems, detected = parse_timestamps(frame["ts"], options.ts_format)
        out["ts"] = stamps
        for detail in ts_problems.dropna():
            decisions.append(("ts", "nulled", detail))
        parsed = int(stamps.notna().sum())
        if len(ts_problems.dropna()) > MOSTLY_NULL * (len(ts_problems.dropna()) + parsed) > 0:
            source_column = (options.interaction_column_map.get("ts") or
                             ("unixReviewTime" if source.interactions_fmt == "amazon-reviews" else "ts"))
            raise CatalogError(
                f"column {source_column!r} of {path}: {len(ts_problems.dropna())} of "
                f"{len(ts_problems.dropna()) + parsed} values cannot be read as timestamps (ISO 8601, "
                f"Unix seconds or milliseconds), e.g. {ts_problems.dropna().iloc[0]}. Set "
                f"PKG_INTERACTIONS_TS_FORMAT (a strftime pattern such as %m %d, %Y), or map another column "
                f"with PKG_INTERACTIONS_COLUMNS=\"ts=<your column>\"")
    else:
        out["ts"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
        ts_problems, detected = pd.Series(None, index=frame.index, dtype="object"), "no ts column"
    out["parse_flags"] = [f"ts: {d}" if isinstance(d, str) else None for d in ts_problems]
    if has["position"]:
        positions, position_problems = parse_positions(frame["position"])
        bad = int(position_problems.notna().sum())
        if bad > MOSTLY_NULL * len(frame) and bad:
            example = frame["position"][position_problems.notna()].iloc[0]
            raise CatalogError(
                f"column {options.interaction_column_map.get('position', 'position')!r} of {path}: {bad} of "
                f"{len(frame)} values are not integer positions (e.g. {_sample(example)}). Map another column "
                "with PKG_INTERACTIONS_COLUMNS=\"position=<your column>\", or leave position out to order "
                "each user's events by ts")
        out["position"] = positions
        reason = reason.where(reason.notna(), position_problems)
        ordering = "position column"
    else:
        # Order each user's history by time where known, else by file order.
        ranked = out.sort_values(["user_id", "ts", "source_row"], na_position="last", kind="stable")
        out["position"] = ranked.groupby("user_id", dropna=False).cumcount().reindex(out.index).astype("Int64")
        ordering = "ts, then file order" if has["ts"] else "file order"
    out["session_id"] = out["session_id"].where(out["session_id"].notna(), out["user_id"])
    reason = reason.where(~(~out["product_id"].isin(known_products) & out["product_id"].notna()), "product not in catalog")
    reason = reason.where(out["product_id"].notna(), "missing product_id")
    reason = reason.where(out["user_id"].notna(), "missing user_id")
    bad_rows = reason.notna()
    kept = out[~bad_rows][[*INTERACTION_COLUMNS, "parse_flags"]].copy()
    kept["position"] = kept["position"].astype("int64")
    rejected = out[bad_rows].copy()
    rejected["reason"] = reason[bad_rows]
    rejected["position"] = rejected["position"].astype("float64")
    rejected["raw"] = [_raw_json(r) for r in frame[bad_rows][list(INTERACTION_COLUMNS)].to_dict("records")]
    rejected["source_file"] = str(path)
    lines = pd.DataFrame.from_records([
        {"source_file": str(path), "source_line": q["source_line"], "reason": q["reason"], "raw": q["raw"]}
        for q in raw.quarantined])
    rejected = pd.concat([rejected, lines], ignore_index=True) if len(lines) else rejected
    rejected = rejected.reindex(columns=_empty_interaction_rejects().columns)
    facts = {**raw.facts, "file": str(path), "interactions_format": source.interactions_fmt,
             "ts": detected, "ordering": ordering}
    return InteractionsRead(kept.reset_index(drop=True), rejected.reset_index(drop=True),
                            pd.DataFrame.from_records(decisions, columns=["field", "decision", "detail"]), facts)


def _empty_interaction_rejects() -> pd.DataFrame:
    return pd.DataFrame(columns=["user_id", "session_id", "product_id", "position", "ts", "reason",
                                 "source_file", "source_row", "source_line", "raw"])
