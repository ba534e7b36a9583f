"""The labelled set from the real Fragrance answers, and the scores computed on it."""

from pathlib import Path

import pandas as pd

from pkg_assets.core.label_eval import edge_scores, load_labels, resolution_scores, split_of

LABELS = Path(__file__).resolve().parent.parent / "fixtures" / "fragrance_labels"


def test_the_labelled_set_is_whole_and_consistent():
    resolution, edges = load_labels(LABELS)
    assert len(resolution) >= 300 and len(edges) >= 300
    assert resolution["item"].is_unique and edges["item"].is_unique
    assert not edges.duplicated(["head_id", "relation", "tail_id"]).any()
    assert all(correct <= shown for correct, shown in zip(resolution["correct"], resolution["shown"]))
    assert set(edges["relation"]) <= {"complement", "accessory", "consumable", "substitute"}
    assert {"dev", "test"} == set(resolution["split"]) == set(edges["split"])
    for relation in ("complement", "accessory", "substitute"):  # stratified over relations
        assert (edges["relation"] == relation).sum() >= 40


def test_split_is_stable_and_halves():
    heads = [f"B{i:09d}" for i in range(2000)]
    assert split_of("B0018N5I9Q") == split_of("B0018N5I9Q")
    assert 0.45 < sum(split_of(h) == "dev" for h in heads) / len(heads) < 0.55


def test_resolution_scores_judge_only_what_the_labeller_saw():
    labels = pd.DataFrame({"head_id": ["H"] * 4, "relation": ["complement"] * 4, "mention": ["a", "b", "c", "d"],
                           "correct": [{"P1"}, set(), {"P3"}, {"P4"}], "shown": [{"P1", "P2"}, {"P2"}, {"P3"}, {"P4"}]})
    links = pd.DataFrame({"head_id": ["H"] * 5, "relation": ["complement"] * 5, "tail_mention": ["a", "b", "c", "d", "e"],
                          "decision": ["product", "product", "unresolved", "product", "product"],
                          "tail_id": ["P1", "P2", None, "P9", "P5"]})
    scores = resolution_scores(links, labels)
    assert scores["linked"] == 3 and scores["unjudged"] == 1  # P9 was never shown
    assert scores["precision"] == 0.5 and scores["recall"] == 1 / 3 and scores["coverage"] == 0.8


def test_edge_scores():
    labels = pd.DataFrame({"head_id": ["H"] * 4, "relation": ["substitute"] * 4, "tail_id": ["A", "B", "C", "D"],
                           "truth": [True, True, False, False]})
    gated = pd.DataFrame({"head_id": ["H"] * 4, "relation": ["substitute"] * 4, "tail_id": ["A", "B", "C", "D"],
                          "accepted": [True, False, False, True]})
    scores = edge_scores(gated, labels)
    assert scores["precision"] == 0.5 and scores["true_kept"] == 0.5 and scores["false_rejected"] == 0.5
