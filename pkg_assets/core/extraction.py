"""Parse and validate LLM answers into relation rows."""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ValidationError

from pkg_assets.core.models import CONCEPT_RELATIONS, ClusterAnswer, FactorAnswer

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


class InvalidAnswer(ValueError):
    """The LLM answered, but not with what the schema asks for."""


def parse_answer(text: str | None, schema: type[BaseModel] = FactorAnswer) -> BaseModel:
    """Parse a JSON answer (tolerating a markdown code fence) against `schema`."""
    if text is None or not text.strip():
        raise InvalidAnswer("empty answer")
    match = _FENCE.match(text)
    body = match.group(1) if match else text.strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"not JSON: {exc.msg} at char {exc.pos}") from exc
    except RecursionError as exc:  # "[[[[…" nested past the parser's limit: an answer, not a crash
        raise InvalidAnswer("not JSON we can read: nested deeper than the parser's recursion limit") from exc
    if isinstance(data, list):  # some models return the bare list
        data = {"relations": data}
    try:
        answer = schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise InvalidAnswer(f"schema violation at {location}: {first['msg']} ({exc.error_count()} errors)") from exc
    except RecursionError as exc:
        raise InvalidAnswer("schema violation: nested deeper than the validator's recursion limit") from exc
    for relation in getattr(answer, "relations", []):  # concepts are concepts, whatever the model said
        if relation.relation.value in CONCEPT_RELATIONS:
            relation.tail_kind = "concept"
    return answer


def parse_factor_answer(text: str | None) -> FactorAnswer:
    return parse_answer(text, FactorAnswer)  # type: ignore[return-value]


def parse_cluster_answer(text: str | None) -> ClusterAnswer:
    return parse_answer(text, ClusterAnswer)  # type: ignore[return-value]


def relation_rows(answer: FactorAnswer, head_id: str, factor: str) -> list[dict]:
    """One row per proposed relation; duplicates within one answer collapse (max confidence)."""
    best: dict[tuple[str, str], dict] = {}
    for proposed in answer.relations:
        key = (proposed.relation.value, proposed.tail.lower())
        row = {
            "head_id": head_id,
            "factor": factor,
            "relation": proposed.relation.value,
            "tail_mention": proposed.tail,
            "tail_kind": proposed.tail_kind,
            "confidence": float(proposed.confidence),
            "rationale": proposed.rationale,
        }
        if key not in best or row["confidence"] > best[key]["confidence"]:
            best[key] = row
    return list(best.values())
