"""Scores against labels people wrote by reading real LLM output (see the fixtures' GUIDE.md).

- Resolution: of the labelled mentions the resolver linked, the share linked to a product
  the labeller said the mention names (`precision`); the share of all product mentions
  linked (`coverage`); links to a product the labeller was never shown are not judged and
  are counted apart (`unjudged`).
- Edges: precision of the accepted labelled edges, the share of true edges kept and the
  share of false edges rejected.

Each label row belongs to a split, `dev` or `test`, by a stable hash of its head product,
so thresholds can be chosen on one half and reported on the other.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd


def split_of(head_id: str) -> str:
    """`dev` or `test`, half each, stable across runs and machines."""
    return "dev" if int(hashlib.sha1(head_id.encode()).hexdigest(), 16) % 2 == 0 else "test"


def load_labels(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(resolution labels, edge labels), each with a `split` column."""
    resolution = pd.read_csv(folder / "resolution.csv", dtype=str, keep_default_na=False)
    edges = pd.read_csv(folder / "edges.csv", dtype=str, keep_default_na=False)
    for frame in (resolution, edges):
        frame["split"] = frame["head_id"].map(split_of)
    resolution["correct"] = resolution["correct_ids"].str.split().map(set)
    resolution["shown"] = resolution["shown_ids"].str.split().map(set)
    edges["truth"] = edges["label"].str.lower().map({"true": True, "false": False})
    if edges["truth"].isna().any():
        bad = edges.loc[edges["truth"].isna(), "item"].tolist()
        raise ValueError(f"edges.csv: label must be true or false (items {bad[:5]})")
    # An edge sampled twice keeps one label; one that two labellers judged differently is
    # disputed and scores nothing.
    key = ["head_id", "relation", "tail_id"]
    disputed = edges.groupby(key)["truth"].transform("nunique") > 1
    edges = edges[~disputed].drop_duplicates(key)
    resolution = resolution.drop_duplicates(["head_id", "relation", "mention"])
    return resolution.reset_index(drop=True), edges.reset_index(drop=True)


def resolution_scores(links: pd.DataFrame, labels: pd.DataFrame) -> dict[str, float]:
    """`links`: head_id, relation, tail_mention, decision, tail_id — one row per product mention
    of the run. Precision and recall on the labelled mentions, coverage on all of them."""
    coverage = float((links["decision"] == "product").mean()) if len(links) else 0.0
    merged = labels.merge(links.drop_duplicates(["head_id", "relation", "tail_mention"]),
                          left_on=["head_id", "relation", "mention"],
                          right_on=["head_id", "relation", "tail_mention"], how="inner")
    linked = merged[merged["decision"] == "product"]
    judged = linked[[tail in shown for tail, shown in zip(linked["tail_id"], linked["shown"])]]
    right = sum(tail in correct for tail, correct in zip(judged["tail_id"], judged["correct"]))
    nameable = merged[merged["correct"].map(bool)]
    found = sum(d == "product" and t in c for d, t, c in zip(nameable["decision"], nameable["tail_id"],
                                                             nameable["correct"]))
    return {
        "labelled": len(merged), "linked": len(linked), "unjudged": len(linked) - len(judged),
        "precision": right / len(judged) if len(judged) else 0.0,
        "recall": found / len(nameable) if len(nameable) else 0.0,
        "coverage": coverage,
    }


def edge_scores(gated: pd.DataFrame, labels: pd.DataFrame) -> dict[str, float]:
    """`gated`: head_id, relation, tail_id, accepted — every product edge the gate judged."""
    merged = labels.merge(gated.drop_duplicates(["head_id", "relation", "tail_id"]),
                          on=["head_id", "relation", "tail_id"], how="inner")
    accepted = merged[merged["accepted"]]
    true_edges, false_edges = merged[merged["truth"]], merged[~merged["truth"]]
    return {
        "labelled": len(merged), "labelled_share": len(merged) / len(gated) if len(gated) else 0.0,
        "precision": float(accepted["truth"].mean()) if len(accepted) else 0.0,
        "true_kept": float(true_edges["accepted"].mean()) if len(true_edges) else 0.0,
        "false_rejected": float((~false_edges["accepted"]).mean()) if len(false_edges) else 0.0,
        "accepted_labelled": len(accepted),
    }
