"""Data models shared by every stage: the relation vocabulary and the LLM output schemas.

The vocabulary is closed on purpose. Catalog text is data, not instructions: whatever a
product description says, an LLM answer can only produce relations named here, and the
pydantic schemas below reject anything else (the ledger keeps such answers as `invalid`).
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Relation(str, Enum):
    """Head-to-tail relations the LLM may propose (read: head <relation> tail)."""

    COMPLEMENT = "complement"  # bought and used together (card + bouquet)
    ACCESSORY = "accessory"  # tail attaches to / protects / extends the head (case -> phone)
    CONSUMABLE = "consumable"  # head uses tail up (printer -> ink)
    SUBSTITUTE = "substitute"  # tail serves the same need (two brands of beans)
    FOR_OCCASION = "for_occasion"  # concept: Mother's Day, birthday
    FOR_AUDIENCE = "for_audience"  # concept: new parents, hikers
    USED_FOR = "used_for"  # concept: activity or usage scenario


LLM_RELATIONS: tuple[str, ...] = tuple(r.value for r in Relation)
CONCEPT_RELATIONS: frozenset[str] = frozenset(
    {Relation.FOR_OCCASION.value, Relation.FOR_AUDIENCE.value, Relation.USED_FOR.value}
)
PRODUCT_RELATIONS: frozenset[str] = frozenset(LLM_RELATIONS) - CONCEPT_RELATIONS

# Relations mined from behaviour (interactions), never proposed by the LLM.
BEHAVIOR_RELATIONS: tuple[str, ...] = ("co_purchased", "next_item")

# Concept node kinds, by the relation that points at them.
CONCEPT_KIND_BY_RELATION: dict[str, str] = {
    Relation.FOR_OCCASION.value: "occasion",
    Relation.FOR_AUDIENCE.value: "audience",
    Relation.USED_FOR.value: "usage",
}


class Factor(str, Enum):
    """REKI factorization: one narrow question per factor instead of one broad one."""

    COMPLEMENTS = "complements"
    CONSUMABLES = "consumables"
    SUBSTITUTES = "substitutes"
    OCCASIONS = "occasions"
    AUDIENCE = "audience"
    USAGE = "usage"


FACTORS: tuple[str, ...] = tuple(f.value for f in Factor)


class ProposedRelation(BaseModel):
    """One relation as the LLM must return it."""

    model_config = ConfigDict(extra="forbid")

    relation: Relation
    tail: str = Field(min_length=1, max_length=200, description="the related thing, as named")
    tail_kind: Literal["product", "concept"]
    confidence: float = Field(ge=0.0, le=1.0)
    rationale: str = Field(default="", max_length=1000)

    @field_validator("tail")
    @classmethod
    def _strip_tail(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("tail is blank")
        return value


class FactorAnswer(BaseModel):
    """The JSON object a factor prompt asks for."""

    model_config = ConfigDict(extra="forbid")

    relations: list[ProposedRelation] = Field(default_factory=list, max_length=30)


class ClusterAnswer(BaseModel):
    """The JSON object the collective (one call per cluster) prompt asks for."""

    model_config = ConfigDict(extra="forbid")

    theme: str = Field(default="", max_length=200)
    relations: list[ProposedRelation] = Field(default_factory=list, max_length=30)


class VerifierAnswer(BaseModel):
    """The verifier LLM's judgement of one borderline edge (prompts/verify_relation.j2)."""

    model_config = ConfigDict(extra="forbid")

    verdict: Literal["yes", "no"]
    confidence: float = Field(ge=0.0, le=1.0)
    reason: str = Field(default="", max_length=500)


NO_RELATION = "none"  # an interpreted pair bought together for no reason a shopper would act on


class InterpretationAnswer(BaseModel):
    """Why customers buy two products together (prompts/interpret_pair.j2), as one relation
    of the vocabulary or "none". Product relations read `<head> <relation> <the other>`, with
    `head` naming which of the two ("A" or "B") the relation starts from; a concept relation
    says both products share `concept` (an occasion, an audience or a usage)."""

    model_config = ConfigDict(extra="forbid")

    relation: Relation | Literal["none"]
    head: Literal["A", "B"] = "A"
    concept: str | None = Field(default=None, max_length=200)
    confidence: float = Field(ge=0.0, le=1.0)
    rationale: str = Field(default="", max_length=500)

    @field_validator("concept")
    @classmethod
    def _strip_concept(cls, value: str | None) -> str | None:
        value = " ".join(value.split()) if value is not None else None
        return value or None

    @model_validator(mode="after")
    def _concept_when_shared(self) -> "InterpretationAnswer":
        relation = self.relation_name
        if relation in CONCEPT_RELATIONS and not self.concept:
            raise ValueError(f"relation {relation!r} names a shared concept, but 'concept' is empty")
        if relation not in CONCEPT_RELATIONS and self.concept:
            raise ValueError(f"relation {relation!r} relates the two products; 'concept' must be empty")
        return self

    @property
    def relation_name(self) -> str:
        return self.relation.value if isinstance(self.relation, Relation) else self.relation


# What each relation means, for prompts that must explain it (the verifier's).
RELATION_MEANING: dict[str, str] = {
    Relation.COMPLEMENT.value: "is bought and used together with",
    Relation.ACCESSORY.value: "has as an accessory (attaches to, protects or extends it)",
    Relation.CONSUMABLE.value: "uses up, and needs refills of,",
    Relation.SUBSTITUTE.value: "can be replaced by (serves the same need as)",
    Relation.FOR_OCCASION.value: "is suited to the occasion",
    Relation.FOR_AUDIENCE.value: "is suited to the audience",
    Relation.USED_FOR.value: "is used for",
}
