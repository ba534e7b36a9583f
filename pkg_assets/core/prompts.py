"""Versioned prompt templates (jinja2 files in `pkg_assets/prompts/`).

A template's version is the hash of the files it is rendered from; it is part of the
derived `code_version` (defs/versions.py) of exactly the assets that use it, so editing a
prompt marks them stale in the Dagster UI. Catalog text is fenced in `<product_data>` as
JSON (`tojson` escapes `<`, `>` and `&`, so seller text cannot close the fence).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import jinja2

from pkg_assets.core.models import FACTORS, LLM_RELATIONS, RELATION_MEANING

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
SYSTEM_TEMPLATE = "system_extraction.j2"
MAX_RELATIONS = 8

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(PROMPTS_DIR),
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=False,
    # Templates load once per process, as their version is computed once: no stat() of three
    # files on every call (it was a tenth of the client's CPU per LLM call).
    auto_reload=False,
)


@dataclass(frozen=True)
class PromptTemplate:
    """A user-message template plus the system message, with a content-hash version."""

    name: str
    template: str
    includes: tuple[str, ...] = ()
    system: str = SYSTEM_TEMPLATE

    @cached_property
    def version(self) -> str:
        digest = hashlib.sha256()
        for file_name in (self.system, self.template, *self.includes):
            digest.update(file_name.encode())
            digest.update((PROMPTS_DIR / file_name).read_bytes())
        return f"{self.name}@{digest.hexdigest()[:12]}"

    def render(self, **context: object) -> list[dict[str, str]]:
        system = _ENV.get_template(self.system).render(
            relations=LLM_RELATIONS, max_relations=MAX_RELATIONS
        )
        user = _ENV.get_template(self.template).render(**context)
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]


FACTOR_PROMPTS: dict[str, PromptTemplate] = {
    factor: PromptTemplate(f"factor_{factor}", f"factor_{factor}.j2", ("_product_block.j2",))
    for factor in FACTORS
}
CLUSTER_PROMPT = PromptTemplate("cluster_collective", "cluster_collective.j2")
VERIFIER_PROMPT = PromptTemplate("verify_relation", "verify_relation.j2", system="system_verifier.j2")
INTERPRET_PROMPT = PromptTemplate("interpret_pair", "interpret_pair.j2", system="system_interpreter.j2")


def input_hash(payload: dict) -> str:
    """Stable hash of a prompt's input variables: the ledger's cache key with model+version."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def product_prompt_input(product: dict) -> dict:
    """The product fields a factor prompt sees (and nothing else: the cache key's input)."""
    return {
        "product_id": product["product_id"],
        "title": product["title"],
        "brand": product.get("brand"),
        "category_path": product.get("category_path"),
        "price": product.get("price"),
        "description": product.get("description") or "",
    }


def cluster_prompt_input(members: list[dict]) -> dict:
    ordered = sorted(members, key=lambda m: m["product_id"])
    return {
        "members": [
            {"product_id": m["product_id"], "title": m["title"], "brand": m.get("brand"),
             "category_path": m.get("category_path")}
            for m in ordered
        ]
    }


def cluster_signature(member_ids: list[str]) -> str:
    """Names a cluster by its members, so a recorded answer belongs to one member set."""
    return hashlib.sha256("\n".join(sorted(member_ids)).encode()).hexdigest()[:16]


def verifier_prompt_input(head: dict, relation: str, tail: dict) -> dict:
    """What the verifier sees of one edge: both items' catalog fields and the relation.

    `tail` is a product's fields, or {"concept": name} for a concept tail.
    """
    def fields(item: dict) -> dict:
        if "concept" in item:
            return {"concept": item["concept"]}
        return {"title": item.get("title"), "brand": item.get("brand"), "category": item.get("category_path")}

    return {"head": fields(head), "relation": relation, "meaning": RELATION_MEANING[relation], "tail": fields(tail)}


def pair_prompt_input(a: dict, b: dict) -> dict:
    """What the interpretation prompt sees of a co-purchased pair: both products' catalog
    fields. No behaviour figure: the answer depends on the products alone, so the leak-free
    evaluation can reuse it for any pair its training split selects too."""
    def fields(product: dict) -> dict:
        return {"title": product.get("title"), "brand": product.get("brand"),
                "category": product.get("category_path")}

    return {"a": fields(a), "b": fields(b)}
