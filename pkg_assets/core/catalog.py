"""Catalog and interaction readers, and the normalisation every product goes through.

Readers turn a source into one raw frame with the standard columns; `normalise_products`
then splits it into clean products and quarantined rows, each rejected row with its
reason. Nothing is dropped silently.

Supported sources (format "auto" picks by looking at the path):

- the demo layout: a folder with `products.jsonl` (+ `interactions.csv`);
- a generic CSV or Parquet catalog, with an optional column mapping (our name -> yours);
  a folder with `products.csv` + `interactions.csv` (the `amazon-beauty` layout) is this
  with no mapping needed;
- Amazon product metadata as JSON lines, plain or gzipped, in the 2014 schema (Python
  literal lines, `categories`: list of paths) and the 2018 schema (JSON, `category` list,
  `description` list, price as "$12.99"); reviews (`reviewerID`, `asin`,
  `unixReviewTime`) as interactions.
"""

from __future__ import annotations

import ast
import gzip
import hashlib
import html
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

PRODUCT_COLUMNS: tuple[str, ...] = (
    "product_id", "title", "brand", "price", "category_path", "description",
)
REQUIRED_PRODUCT_COLUMNS: tuple[str, ...] = ("product_id", "title")
INTERACTION_COLUMNS: tuple[str, ...] = ("user_id", "product_id", "position", "session_id", "ts")
UNCATEGORIZED = "Uncategorized"

# Dagster refuses partition keys containing these; category names are mapped around them.
_PARTITION_KEY_FORBIDDEN = re.compile(r"[\[\],]|\.\.\.")


class CatalogError(ValueError):
    """A catalog or interactions source cannot be read as configured."""


@dataclass(frozen=True)
class CatalogSource:
    """Where the catalog lives and how to read it."""

    products_path: Path
    fmt: str  # demo | csv | parquet | amazon-json
    interactions_path: Path | None
    interactions_fmt: str | None  # csv | parquet | amazon-reviews


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
        raise CatalogError(f"unknown catalog format {fmt!r} for {path}")

    chosen = Path(interactions_path).expanduser() if interactions_path else found_interactions
    if chosen is not None and not chosen.exists():
        raise CatalogError(f"interactions path {chosen} does not exist")
    return CatalogSource(
        products_path=products_path,
        fmt=fmt,
        interactions_path=chosen,
        interactions_fmt=_interactions_format(chosen) if chosen else None,
    )


def _format_of_file(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".tsv")):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".json", ".json.gz", ".jsonl", ".jsonl.gz")):
        first = next(_json_lines(path), None)
        if first is not None and "asin" in first:
            return "amazon-json"
        return "demo"
    raise CatalogError(f"cannot tell the catalog format of {path}; set the format explicitly")


def _interactions_format(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".json", ".json.gz", ".jsonl", ".jsonl.gz")):
        return "amazon-reviews"
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


# -------------------------------------------------------------------------------- readers


def read_products_raw(source: CatalogSource, column_map: dict[str, str] | None = None) -> pd.DataFrame:
    """Read the products file into the standard columns (all text), plus `source_row`."""
    if source.fmt == "demo":
        frame = pd.DataFrame.from_records(list(_json_lines(source.products_path)))
        frame = _apply_mapping(frame, column_map or {}, source.products_path)
    elif source.fmt in {"csv", "parquet"}:
        if source.fmt == "csv":
            frame = pd.read_csv(source.products_path, dtype=str, keep_default_na=False)
        else:
            frame = pd.read_parquet(source.products_path).astype("string")
        frame = _apply_mapping(frame, column_map or {}, source.products_path)
    else:
        frame = pd.DataFrame.from_records(
            [_amazon_record(record) for record in _json_lines(source.products_path)]
        )
        frame = _apply_mapping(frame, {}, source.products_path)
    frame["source_row"] = range(1, len(frame) + 1)
    return frame


def _apply_mapping(frame: pd.DataFrame, column_map: dict[str, str], path: Path) -> pd.DataFrame:
    unknown = set(column_map) - set(PRODUCT_COLUMNS)
    if unknown:
        raise CatalogError(
            f"column mapping names unknown target column(s) {sorted(unknown)}; "
            f"targets are {list(PRODUCT_COLUMNS)}"
        )
    out = pd.DataFrame(index=frame.index)
    for column in PRODUCT_COLUMNS:
        source_column = column_map.get(column, column)
        if source_column in frame.columns:
            out[column] = frame[source_column]
        elif column in REQUIRED_PRODUCT_COLUMNS or column in column_map:
            mapped = f" (mapped from {source_column!r})" if source_column != column else ""
            raise CatalogError(
                f"required column {column!r}{mapped} is missing in {path}; "
                f"columns present: {sorted(map(str, frame.columns))}"
            )
        else:
            out[column] = None
    return out


def _json_lines(path: Path) -> Iterator[dict]:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                # The 2014 Amazon dumps are Python literals, not JSON.
                try:
                    yield ast.literal_eval(line)
                except (ValueError, SyntaxError) as exc:
                    raise CatalogError(f"{path}:{line_number}: not a JSON record ({exc})") from exc


def _amazon_record(record: dict) -> dict:
    """Map one Amazon metadata record (2014 or 2018 schema) onto the standard columns."""
    if "categories" in record:  # 2014: a list of category paths, the first is the main one
        paths = record.get("categories") or []
        category_path = " > ".join(paths[0]) if paths and paths[0] else ""
    else:  # 2018: one path as a list
        category_path = " > ".join(record.get("category") or []) or record.get("main_cat", "")
    description = record.get("description", "")
    if isinstance(description, list):
        description = " ".join(str(part) for part in description)
    return {
        "product_id": record.get("asin"),
        "title": record.get("title"),
        "brand": record.get("brand"),
        "price": record.get("price"),
        "category_path": category_path,
        "description": description,
    }


# -------------------------------------------------------------------------- normalisation


def clean_text(value: object) -> str:
    """Unescape HTML entities (also doubly escaped ones) and fold white space."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    text = str(value)
    for _ in range(2):  # "&amp;amp;" occurs in real dumps
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    return " ".join(text.split())


_PRICE_RE = re.compile(r"^\$?\s*(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?$")


def parse_price(value: object) -> tuple[float | None, bool]:
    """Return (price, ok). Missing prices are fine (None, True); garbage is (None, False)."""
    if value is None or value is pd.NA:
        return None, True
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return None, True
        return (float(value), True) if value >= 0 else (None, False)
    text = clean_text(value)
    if text == "" or text.lower() in {"nan", "none", "null"}:
        return None, True
    match = _PRICE_RE.match(text)
    if not match:
        return None, False
    return float(match.group(1).replace(",", "") + (match.group(2) or "")), True


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


def category_at_level(category_path: str, level: int) -> str:
    """The partition a product belongs to: the `level`-th element (1-based) of its path.

    Shorter paths use their deepest element; products with no path are "Uncategorized".
    """
    parts = [part.strip() for part in category_path.split(">") if part.strip()]
    if not parts:
        return UNCATEGORIZED
    return partition_safe(parts[min(level, len(parts)) - 1])


def partition_safe(name: str) -> str:
    return _PARTITION_KEY_FORBIDDEN.sub(" ", name).strip() or UNCATEGORIZED


def content_hash(row: dict) -> str:
    payload = "\x1f".join(str(row.get(column) or "") for column in PRODUCT_COLUMNS)
    return hashlib.sha1(payload.encode()).hexdigest()[:16]


def normalise_products(raw: pd.DataFrame, category_level: int, source_file: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split raw rows into (products, rejected). Every raw row lands in exactly one."""
    if category_level < 1:
        raise CatalogError(f"category level must be >= 1, got {category_level}")
    accepted: list[dict] = []
    rejected: list[dict] = []
    first_row_of: dict[str, int] = {}
    for record in raw.to_dict("records"):
        product_id = clean_text(record.get("product_id"))
        title = clean_text(record.get("title"))
        price, price_ok = parse_price(record.get("price"))
        reason = None
        if not product_id:
            reason = "missing product_id"
        elif not title:
            reason = "empty title"
        elif product_id in first_row_of:
            reason = f"duplicate product_id (first seen at row {first_row_of[product_id]})"
        elif not price_ok:
            reason = f"unparsable price {clean_text(record.get('price'))[:60]!r}"
        if reason:
            rejected.append({
                "product_id": product_id or None,
                "source_file": source_file,
                "source_row": int(record["source_row"]),
                "reason": reason,
                "raw": json.dumps({k: _jsonable(v) for k, v in record.items()}, ensure_ascii=False),
            })
            continue
        first_row_of[product_id] = int(record["source_row"])
        category_path = clean_text(record.get("category_path"))
        row = {
            "product_id": product_id,
            "title": title,
            "brand": clean_text(record.get("brand")) or None,
            "price": price,
            "category_path": category_path,
            "category": category_at_level(category_path, category_level),
            "description": clean_text(record.get("description")),
        }
        row["content_hash"] = content_hash(row)
        row["source_file"] = source_file
        accepted.append(row)
    products = pd.DataFrame.from_records(
        accepted,
        columns=[*PRODUCT_COLUMNS[:5], "category", "description", "content_hash", "source_file"],
    )
    rejected_frame = pd.DataFrame.from_records(
        rejected, columns=["product_id", "source_file", "source_row", "reason", "raw"]
    )
    return products, rejected_frame


def _jsonable(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# ---------------------------------------------------------------------------- interactions


def read_interactions(source: CatalogSource) -> pd.DataFrame:
    """Read interactions into user_id, product_id, position, session_id, ts (may be null)."""
    if source.interactions_path is None:
        return pd.DataFrame(columns=list(INTERACTION_COLUMNS))
    path = source.interactions_path
    if source.interactions_fmt == "amazon-reviews":
        frame = pd.DataFrame.from_records(
            {"user_id": r.get("reviewerID"), "product_id": r.get("asin"),
             "ts": r.get("unixReviewTime")}
            for r in _json_lines(path)
        )
        frame["ts"] = pd.to_datetime(frame["ts"], unit="s", errors="coerce")
    elif source.interactions_fmt == "parquet":
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in ("user_id", "product_id"):
        if column not in frame.columns:
            raise CatalogError(
                f"required column {column!r} is missing in {path}; "
                f"columns present: {sorted(map(str, frame.columns))}"
            )
    out = pd.DataFrame({
        "user_id": frame["user_id"].map(clean_text),
        "product_id": frame["product_id"].map(clean_text),
        "session_id": frame["session_id"].map(clean_text) if "session_id" in frame else "",
        "ts": pd.to_datetime(frame["ts"], errors="coerce") if "ts" in frame else pd.NaT,
        "file_order": range(len(frame)),
    })
    if "position" in frame.columns:
        out["position"] = pd.to_numeric(frame["position"], errors="coerce")
    else:
        # Order each user's history by time where known, else by file order.
        out = out.sort_values(["user_id", "ts", "file_order"], na_position="last", kind="stable")
        out["position"] = out.groupby("user_id").cumcount()
    out["session_id"] = out["session_id"].where(out["session_id"] != "", out["user_id"])
    return out.sort_values("file_order").drop(columns="file_order").reset_index(drop=True)[
        list(INTERACTION_COLUMNS)
    ]


def split_interactions(frame: pd.DataFrame, known_products: set[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(kept, rejected-with-reason): rows need a user, a known product and a position."""
    reason = pd.Series(pd.NA, index=frame.index, dtype="string")
    reason[frame["position"].isna()] = "unparsable position"
    reason[~frame["product_id"].isin(known_products)] = "product not in catalog"
    reason[frame["product_id"] == ""] = "missing product_id"
    reason[frame["user_id"] == ""] = "missing user_id"
    bad = reason.notna()
    kept = frame[~bad].copy()
    kept["position"] = kept["position"].astype("int64")
    rejected = frame[bad].copy()
    rejected["reason"] = reason[bad]
    rejected["position"] = rejected["position"].astype("float64")
    return kept.reset_index(drop=True), rejected.reset_index(drop=True)
