"""Reading one file into records, line by line, with every line accounted for.

`read_records` turns a CSV/TSV, JSON-lines (plain or gzipped, JSON or the Python-literal
lines of the 2014 Amazon dumps) or Parquet file into a frame of raw values plus a list of
quarantined lines, each with `file:line` and a reason. It never fails on one bad line:
a malformed, non-object or over-nested JSON line, or a CSV line with the wrong number of
fields, is quarantined and the rest is read. A truncated gzip yields what it holds and a
quarantine row for the cut-off tail. What stops the read is a file-level mistake, reported
with what to set: a wrong encoding (file, byte offset, line), an unreadable file.

Why our own line loop rather than `pandas.read_csv`: pandas either refuses the whole file
on a bad line or skips it (with a warning on stderr and no line number we can keep); the
standard library's `csv` reader gives each record with its line number, so a bad line
becomes a quarantine row. Decompression uses `zlib` directly so a truncated stream's last
bytes are kept and reported instead of lost inside `gzip`'s buffered reader.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

SNIFFED_SEPARATORS = ",;\t|"


class CatalogError(ValueError):
    """A catalog or interactions file cannot be read as configured; the message names the
    file and the setting to change."""


@dataclass(frozen=True)
class ReaderOptions:
    """How to read one file. `env_prefix` names the settings in error messages."""

    sep: str | None = None           # None: ".tsv" -> tab, else sniffed among , ; tab |
    encoding: str = "utf-8"
    names: tuple[str, ...] = ()      # a header-less file: its columns, in order
    env_prefix: str = "PKG_CATALOG"  # names the settings in errors; set by the loader, not by users


@dataclass
class RawRecords:
    """A file's records as read, with where each came from and what could not be read."""

    frame: pd.DataFrame                      # raw values + source_row (1-based record) + source_line
    quarantined: list[dict] = field(default_factory=list)   # source_line, reason, raw
    facts: dict = field(default_factory=dict)               # format, encoding, separator, ...


# ------------------------------------------------------------------------------- bytes


def read_bytes(path: Path) -> tuple[bytes, bool]:
    """The file's bytes, decompressed if gzipped. Returns (data, truncated)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if raw[:2] != b"\x1f\x8b":
        return raw, False
    out = bytearray()
    remaining = raw
    while remaining:
        inflater = zlib.decompressobj(wbits=31)
        try:
            out += inflater.decompress(remaining)
        except zlib.error as exc:
            if not out:
                raise CatalogError(f"{path} is not a readable gzip file ({exc})") from exc
            return bytes(out), True  # corrupt after some members: keep what came out
        if not inflater.eof:
            out += inflater.flush()
            return bytes(out), True
        remaining = inflater.unused_data
    return bytes(out), False


def decode(data: bytes, encoding: str, path: Path, env_prefix: str) -> str:
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in {"utf-8", "utf8"} else encoding
    try:
        return data.decode(codec)
    except LookupError as exc:
        raise CatalogError(f"{env_prefix}_ENCODING={encoding!r} is not an encoding Python knows") from exc
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CatalogError(
            f"{path}: byte offset {exc.start} (line {line}) is not valid {encoding}: "
            f"{data[exc.start:exc.start + 8]!r}. Set {env_prefix}_ENCODING to the file's encoding "
            f"(latin-1 and cp1252 are common for legacy exports)"
        ) from exc


def _split_tail(text: str, truncated: bool) -> tuple[str, str]:
    """(complete lines, cut-off last line) for a truncated stream; no tail otherwise."""
    if not truncated or text.endswith("\n"):
        return text, ""
    cut = text.rfind("\n") + 1
    return text[:cut], text[cut:]


def _truncation_row(tail: str, lines_read: int) -> dict:
    what = f"its last line is cut off ({len(tail)} characters)" if tail else "nothing after the last full line"
    return {"source_line": lines_read + 1, "raw": tail,
            "reason": f"truncated file: the compressed stream ends early; {what}"}


# ---------------------------------------------------------------------------- formats


def read_records(path: Path, fmt: str, options: ReaderOptions) -> RawRecords:
    """Read `path` ("csv", "parquet" or "jsonl") into raw records; see the module docstring."""
    if fmt == "parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise CatalogError(f"cannot read {path} as Parquet: {exc}") from exc
        frame = frame.reset_index(drop=True)
        frame["source_row"] = range(1, len(frame) + 1)
        frame["source_line"] = frame["source_row"]
        return RawRecords(frame, [], {"format": "parquet", "records": len(frame)})
    data, truncated = read_bytes(path)
    text = decode(data, options.encoding, path, options.env_prefix)
    text, tail = _split_tail(text, truncated)
    if fmt == "jsonl":
        records = _json_records(text, path, options)
    elif fmt == "csv":
        records = _csv_records(text, path, options)
    else:
        raise CatalogError(f"unknown file format {fmt!r} for {path}")
    if truncated:
        records.quarantined.append(_truncation_row(tail, text.count("\n")))
        records.facts["truncated"] = True
    records.facts["encoding"] = options.encoding
    return records


def parse_json_line(line: str) -> tuple[object, str | None]:
    """(value, None) or (None, reason). The 2014 Amazon dumps are Python literals, not JSON."""
    try:
        return json.loads(line), None
    except RecursionError:
        return None, "nested deeper than the parser allows"
    except json.JSONDecodeError as exc:
        json_error = f"not JSON ({exc.msg} at column {exc.colno})"
    if line.startswith("{"):
        try:
            return ast.literal_eval(line), None
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    return None, json_error


def _json_records(text: str, path: Path, options: ReaderOptions) -> RawRecords:
    rows: list[dict] = []
    lines: list[int] = []
    quarantined: list[dict] = []
    blank = 0
    for line_number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped:
            blank += 1
            continue
        value, reason = parse_json_line(stripped)
        if reason is None and not isinstance(value, dict):
            reason = f"a JSON {_json_kind(value)} on the line, not an object"
        if reason is None and _depth_exceeds(value, 64):
            reason = "nested deeper than 64 levels"
        if reason is not None:
            quarantined.append({"source_line": line_number, "reason": reason, "raw": line})
            continue
        rows.append(value)
        lines.append(line_number)
    frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame()
    frame["source_row"] = range(1, len(frame) + 1)
    frame["source_line"] = lines
    facts = {"format": "jsonl", "records": len(frame), "lines_quarantined": len(quarantined),
             "blank_lines": max(0, blank - 1 if text.endswith("\n") else blank)}
    return RawRecords(frame, quarantined, facts)


def _json_kind(value: object) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number" if isinstance(value, (int, float)) else type(value).__name__)


def _depth_exceeds(value: object, limit: int) -> bool:
    """True when containers nest deeper than `limit` (iterative: no recursion to blow)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def sniff_separator(sample: str) -> str | None:
    try:
        return csv.Sniffer().sniff(sample, delimiters=SNIFFED_SEPARATORS).delimiter
    except csv.Error:
        return None


def _csv_records(text: str, path: Path, options: ReaderOptions) -> RawRecords:
    sep, how = options.sep, "set"
    if not sep:
        if path.name.lower().endswith((".tsv", ".tsv.gz", ".tab")):
            sep, how = "\t", "from the file name"
        else:
            sample = "\n".join(text[:65536].split("\n")[:50])
            sniffed = sniff_separator(sample)
            sep, how = (sniffed, "detected") if sniffed else (",", "default")
    if len(sep) != 1:
        raise CatalogError(f"{options.env_prefix}_SEP must be one character, got {sep!r}")
    csv.field_size_limit(sys.maxsize)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    header: list[str] | None = list(options.names) or None
    rows: list[list[str]] = []
    lines: list[int] = []
    quarantined: list[dict] = []
    start_line = 1
    try:
        for record in reader:
            line_number, start_line = start_line, reader.line_num + 1
            if not record or all(not cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip() for cell in record]
                continue
            if len(record) != len(header):
                quarantined.append({
                    "source_line": line_number, "raw": sep.join(record),
                    "reason": f"{len(record)} fields where the header has {len(header)} "
                              f"(separator {sep!r}, {how})",
                })
                continue
            rows.append(record)
            lines.append(line_number)
    except csv.Error as exc:
        raise CatalogError(f"{path}:{start_line}: not readable as CSV ({exc})") from exc
    if header is None:
        header = []
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise CatalogError(f"{path}: the header names column(s) {duplicated} twice")
    frame = pd.DataFrame(rows, columns=header, dtype=object) if header else pd.DataFrame()
    frame["source_row"] = range(1, len(frame) + 1)
    frame["source_line"] = lines
    facts = {"format": "csv", "records": len(frame), "lines_quarantined": len(quarantined),
             "separator": f"{sep!r} ({how})", "header": "given names" if options.names else "first line"}
    return RawRecords(frame, quarantined, facts)
