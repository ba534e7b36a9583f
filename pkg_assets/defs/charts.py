"""Charts in the Dagster UI: a PNG drawn with matplotlib, embedded as a data URI in markdown
metadata, which the asset page renders as an image (Dagster's documented way to attach a
plot to a materialisation). Small figures at low resolution: a few tens of kilobytes per
materialisation in the event log."""

from __future__ import annotations

import base64
import io

import dagster as dg
import numpy as np
import pandas as pd

_ACCEPTED, _REJECTED = "#2f7d4f", "#c0504d"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: render to memory
    import matplotlib.pyplot as plt

    return plt


def image_markdown(figure, alt: str, caption: str = "") -> dg.MetadataValue:
    plt = _pyplot()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{encoded})" + (f"\n\n{caption}" if caption else ""))


def recommenders_chart(frame: pd.DataFrame, order: list[str], segment: str = "all") -> dg.MetadataValue:
    """Recall and NDCG at 10 and 20, one group per metric, one bar per recommender."""
    plt = _pyplot()
    ranked = frame[frame["k"].notna() & (frame["segment"] == segment)]
    metrics = [("recall", 10), ("ndcg", 10), ("recall", 20), ("ndcg", 20)]
    figure, axis = plt.subplots(figsize=(7, 3))
    width = 0.8 / max(len(order), 1)
    for i, name in enumerate(order):
        values = [float(ranked[(ranked["recommender"] == name) & (ranked["metric"] == m) & (ranked["k"] == k)]
                        ["value"].mean()) for m, k in metrics]
        bars = axis.bar(np.arange(len(metrics)) + i * width, values, width, label=name)
        axis.bar_label(bars, fmt="%.3f", fontsize=6, padding=1)
    axis.set_xticks(np.arange(len(metrics)) + width * (len(order) - 1) / 2,
                    [f"{m.capitalize() if m == 'recall' else m.upper()}@{k}" for m, k in metrics])
    axis.set_ylabel("leave-last-out")
    axis.set_ylim(0, max(axis.get_ylim()[1], 0.01) * 1.1)  # room for the bar labels
    axis.set_title(f"Recommenders side by side ({segment} users)", fontsize=9)
    axis.legend(fontsize=7, ncols=len(order), loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    axis.spines[["top", "right"]].set_visible(False)
    return image_markdown(figure, "recommenders side by side")


def gate_score_chart(gated: pd.DataFrame, threshold: float) -> dg.MetadataValue:
    """Gate scores of accepted and rejected edges, with the acceptance threshold."""
    plt = _pyplot()
    accepted = gated["reasons"] == ""
    figure, axis = plt.subplots(figsize=(6, 2.6))
    bins = np.linspace(0, 1, 21)
    axis.hist([gated.loc[accepted, "gate_score"].clip(0, 1), gated.loc[~accepted, "gate_score"].clip(0, 1)],
              bins=bins, stacked=True, color=[_ACCEPTED, _REJECTED],
              label=[f"accepted ({int(accepted.sum())})", f"rejected ({int((~accepted).sum())})"])
    axis.axvline(threshold, color="black", linestyle="--", linewidth=1)
    axis.text(threshold, axis.get_ylim()[1] * 0.95, f" threshold {threshold:.2f}", fontsize=7, va="top")
    axis.set_xlabel("gate score (rejections below the threshold, or by a hard rule at any score)")
    axis.set_ylabel("edges")
    axis.legend(fontsize=7)
    axis.spines[["top", "right"]].set_visible(False)
    return image_markdown(figure, "gate score distribution")


def acceptance_by_relation_chart(gated: pd.DataFrame) -> dg.MetadataValue:
    """Accepted and rejected edges per relation (horizontal stacked bars, with the rate)."""
    plt = _pyplot()
    counts = (gated.assign(accepted=gated["reasons"] == "").groupby("relation")["accepted"]
              .agg(accepted="sum", total="count").sort_values("total"))
    figure, axis = plt.subplots(figsize=(6, 0.35 * max(len(counts), 3) + 0.8))
    rejected = counts["total"] - counts["accepted"]
    axis.barh(counts.index, counts["accepted"], color=_ACCEPTED, label="accepted")
    axis.barh(counts.index, rejected, left=counts["accepted"], color=_REJECTED, label="rejected")
    for row, (name, values) in enumerate(counts.iterrows()):
        rate = values["accepted"] / values["total"] if values["total"] else 0.0
        axis.text(values["total"], row, f" {rate:.0%}", va="center", fontsize=7)
    axis.set_xlabel("edges")
    axis.legend(fontsize=7, loc="lower right")
    axis.spines[["top", "right"]].set_visible(False)
    return image_markdown(figure, "acceptance by relation")
