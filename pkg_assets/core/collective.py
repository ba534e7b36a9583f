"""REKI's collective claim, checked: do a cluster's concepts agree with its members' own answers?

One LLM call per cluster proposes occasions, audiences and usages for every member. Each
member was also asked about itself (the individual factor prompts). For a propagated
concept and a member:
- *agrees*: the member's own answers for that relation name the same concept (same
  canonical key, or keys within `match_ratio` by rapidfuzz);
- *contradicts*: the member answered that relation itself and named other concepts only;
- *silent*: the member gave no answer for that relation (nothing to compare).
A propagated concept that most answering members contradict is rejected (`contradicted`).
"""

from __future__ import annotations

from collections import defaultdict

from rapidfuzz import fuzz

from pkg_assets.core.resolve import concept_key


def member_answers(rows: list[tuple[str, str, str]]) -> dict[tuple[str, str], set[str]]:
    """(product_id, relation, tail mention) of the individual concept answers -> keys per (product, relation)."""
    answers: dict[tuple[str, str], set[str]] = defaultdict(set)
    for product_id, relation, mention in rows:
        answers[(product_id, relation)].add(concept_key(mention))
    return answers


def agreement(members: list[str], relation: str, mention: str, answers: dict[tuple[str, str], set[str]],
              match_ratio: float = 90.0) -> tuple[int, int]:
    """(members that agree, members that contradict) for one propagated concept."""
    key = concept_key(mention)
    agree = contradict = 0
    for member in members:
        own = answers.get((member, relation))
        if not own:
            continue
        if key in own or any(fuzz.ratio(key, other) >= match_ratio for other in own):
            agree += 1
        else:
            contradict += 1
    return agree, contradict


def contradicted(agree: int, contradict: int) -> bool:
    """Most members that answered the relation themselves named something else."""
    return contradict > agree and contradict * 2 > agree + contradict
