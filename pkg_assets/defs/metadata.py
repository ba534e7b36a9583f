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
