"""Small helpers that make asset metadata useful in the UI."""


import dagster as dg
import pandas as pd


def preview(frame: pd.DataFrame, columns: list[str] | None = None, rows: int = 10) -> dg.MarkdownMetadataValue:
    shown = frame[columns] if columns else frame
    if shown.empty:
        return dg.MetadataValue.md("_no rows_")
    shown = shown.head(rows).copy()
    for column in shown.columns:
        shown[column] = shown[column].map(lambda v: str(v)[:80].replace("|", "/").replace("\n", " "))
    header = "| " + " | ".join(shown.columns) + " |\n|" + "---|" * len(shown.columns) + "\n"
    body = "\n".join("| " + " | ".join(row) + " |" for row in shown.astype(str).values.tolist())
    return dg.MetadataValue.md(header + body)


def counts_table(series: pd.Series, label: str) -> dg.MarkdownMetadataValue:
    if series.empty:
        return dg.MetadataValue.md("_none_")
    counts = series.value_counts()
    lines = [f"| {label} | rows |", "|---|---|"] + [f"| {k} | {v} |" for k, v in counts.items()]
    return dg.MetadataValue.md("\n".join(lines))


def parse_decisions(kept: pd.DataFrame, decisions: pd.DataFrame, fields: list[str],
                    quarantined_rows: int) -> dg.MarkdownMetadataValue:
    """One row per field: values parsed, missing, cleaned and nulled on read (reader decisions)."""
    lines = ["| field | parsed | missing | cleaned | nulled (why) |", "|---|---|---|---|---|"]
    for field in fields:
        mine = decisions[decisions["field"] == field]
        nulled = mine[mine["decision"] == "nulled"]
        why = nulled["detail"].str.split(" \\(").str[0].value_counts()
        why_text = ", ".join(f"{n} {reason}" for reason, n in why.items())
        parsed = int((kept[field].notna() & (kept[field].astype(str) != "")).sum()) if field in kept else 0
        missing = len(kept) - parsed - len(nulled)
        cleaned = int((mine["decision"] != "nulled").sum())
        lines.append(f"| {field} | {parsed} | {missing} | {cleaned} | {len(nulled)}{f' ({why_text})' if why_text else ''} |")
    lines.append(f"\n{quarantined_rows} row(s) quarantined: see `rejected_by_reason`.")
    return dg.MetadataValue.md("\n".join(lines))


def decision_counts(decisions: pd.DataFrame) -> dict[str, int]:
    """{"price nulled: not a number": 3, "title cleaned: entities": 12, ...} for metadata JSON."""
    if decisions.empty:
        return {}
    keys = decisions["field"] + " " + decisions["decision"] + ": " + decisions["detail"].str.split(" \\(").str[0]
    return {key: int(n) for key, n in keys.value_counts().items()}
