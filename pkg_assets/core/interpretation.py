"""Behaviour interpreted by the LLM: why customers buy two products together.

Behaviour says *that* two products go together; the LLM, shown both, says *why*: a relation
of the vocabulary (A complements B, B is a consumable of A, both are for a baby shower...) or
"none" (bought together on a sale, or by coincidence). Each answer is kept per pair
(`interpreted_rows`); a typed one becomes proposals the hallucination gate judges like every
other LLM edge (`gate_proposals`), with the factor `interpreted` so the graph names its
source `llm_interpreted`.
"""

from __future__ import annotations

import pandas as pd

from pkg_assets.core.models import CONCEPT_KIND_BY_RELATION, CONCEPT_RELATIONS, NO_RELATION, InterpretationAnswer
from pkg_assets.core.resolve import concept_id, concept_key

INTERPRETED_FACTOR = "interpreted"  # the `factor` of its proposals; pkg_edges names the source llm_interpreted

INTERPRETED_COLUMNS = [
    "category", "a_id", "b_id", "support", "lift", "jaccard", "strength", "outcome", "relation", "src_id",
    "dst_id", "concept", "concept_id", "confidence", "rationale", "error", "call_id", "model", "prompt_version",
    "selection",
]


def pair_key(a_id: str, b_id: str) -> str:
    """The replay key of a pair's interpretation."""
    return f"pair/{a_id}/{b_id}"


def interpreted_rows(category: str, pairs: pd.DataFrame, answers: dict[tuple[str, str], tuple[str, InterpretationAnswer]],
                     invalid: dict[tuple[str, str], tuple[str | None, str]], known_concepts: dict[tuple[str, str], str],
                     model: str, prompt_version: str, selection: str) -> pd.DataFrame:
    """One row per selected pair, whatever became of it.

    `answers` maps (a_id, b_id) to (call_id, parsed answer); `invalid` to (call_id, reason) for
    answers that broke the schema; a pair in neither was not answered (no recording, a failed
    call) and says so. `known_concepts` maps (kind, concept key) to the concept ids resolution
    already made, so "baby shower" here is the node the factor prompts named too.
    """
    rows = []
    for pair in pairs.to_dict("records"):
        key = (pair["a_id"], pair["b_id"])
        row = {**{c: pair[c] for c in ("a_id", "b_id", "support", "lift", "jaccard", "strength")},
               "category": category, "model": model, "prompt_version": prompt_version, "selection": selection}
        if key in answers:
            call_id, answer = answers[key]
            relation = answer.relation_name
            row.update(call_id=call_id, relation=relation, confidence=answer.confidence, rationale=answer.rationale)
            if relation == NO_RELATION:
                row["outcome"] = "no_relation"
            elif relation in CONCEPT_RELATIONS:
                kind = CONCEPT_KIND_BY_RELATION[relation]
                concept_key_ = concept_key(answer.concept)
                row.update(outcome="typed", concept=answer.concept,
                           concept_id=known_concepts.get((kind, concept_key_), concept_id(kind, concept_key_)))
            else:
                head, tail = key if answer.head == "A" else key[::-1]
                row.update(outcome="typed", src_id=head, dst_id=tail)
        elif key in invalid:
            call_id, reason = invalid[key]
            row.update(outcome="invalid", call_id=call_id, error=reason)
        else:
            row.update(outcome="unanswered", error="no answer: no recording for this pair, or the call failed")
        rows.append(row)
    return pd.DataFrame(rows, columns=INTERPRETED_COLUMNS)


def gate_proposals(interpreted: pd.DataFrame, partition_products: set[str]) -> pd.DataFrame:
    """The typed interpretations as proposals shaped like `resolved_relations` rows, for the
    heads in `partition_products` only (a partition's gate judges its own products' edges; a
    pair of two categories is in both partitions' rows, so each end is judged in its own).
    A product relation is one edge (head -> the other product, already resolved: the pair's
    own ids; its mention is the tail's id, as the LLM named no product: it was shown it); a
    shared concept is an edge from each product to the concept node."""
    typed = interpreted[interpreted["outcome"] == "typed"]
    rows = []
    for row in typed.to_dict("records"):
        common = {"category": row["category"], "factor": INTERPRETED_FACTOR, "relation": row["relation"],
                  "confidence": row["confidence"], "rationale": row["rationale"], "call_id": row["call_id"],
                  "model": row["model"], "prompt_version": row["prompt_version"], "resolution_score": 1.0,
                  "candidates": None}
        if row["relation"] in CONCEPT_RELATIONS:
            for product in (row["a_id"], row["b_id"]):
                if product in partition_products:
                    rows.append({**common, "head_id": product, "tail_mention": row["concept"], "tail_kind": "concept",
                                 "decision": "concept", "tail_id": row["concept_id"],
                                 "resolution_reason": f"shared concept of the co-purchased pair {row['a_id']}, {row['b_id']}"})
        elif row["src_id"] in partition_products:
            rows.append({**common, "head_id": row["src_id"], "tail_mention": row["dst_id"], "tail_kind": "product",
                         "decision": "product", "tail_id": row["dst_id"],
                         "resolution_reason": "the co-purchased pair's other product"})
    return pd.DataFrame(rows, columns=[
        "category", "head_id", "factor", "relation", "tail_mention", "tail_kind", "confidence", "rationale",
        "call_id", "model", "prompt_version", "decision", "tail_id", "resolution_score", "resolution_reason",
        "candidates"])


def outcome_summary(interpreted: pd.DataFrame, behaviour_edges: int) -> dict:
    """The figures issue 15 asks for: share of the category's co-purchased pairs that gained a
    typed relation, relations by kind, calls per 1,000 behaviour edges."""
    asked = int(interpreted["call_id"].notna().sum())
    typed = int((interpreted["outcome"] == "typed").sum())
    return {
        "pairs_selected": len(interpreted),
        "typed": typed,
        "no_relation": int((interpreted["outcome"] == "no_relation").sum()),
        "invalid": int((interpreted["outcome"] == "invalid").sum()),
        "unanswered": int((interpreted["outcome"] == "unanswered").sum()),
        "typed_share_of_behaviour_pairs": round(typed / behaviour_edges, 4) if behaviour_edges else 0.0,
        "calls_per_1000_behaviour_pairs": round(1000 * asked / behaviour_edges, 2) if behaviour_edges else 0.0,
    }
