"""Write the demo catalog, its interactions and its recorded LLM answers.

    python -m pkg_assets.data.demo.authoring

Everything is generated from the hand-written tables in `catalog_source.py`, seeded, so
the output is the same on every run. The recorded answers are what a careful LLM would
say about each product and cluster — including its usual faults: mentions of things the
catalog does not carry, vague tails ("other accessories"), an answer outside the schema.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from pkg_assets.core.catalog import load_interactions, load_products, resolve_source
from pkg_assets.core.interpretation import pair_key
from pkg_assets.core.prompts import CLUSTER_PROMPT, FACTOR_PROMPTS, INTERPRET_PROMPT
from pkg_assets.data.demo.catalog_source import (
    BROKEN_ROWS, CATEGORY_DEFAULTS, INJECTED_DESCRIPTION, INJECTED_DESCRIPTION_TYPE, INTERPRETATION_ERRORS,
    INVALID_INTERPRETATION, MISSIONS, PAIR_INTERPRETATIONS, PLANTED_CONCEPT_ANSWERS, ROOT, TYPES, ProductType,
)

DEMO_DIR = Path(__file__).resolve().parent
N_USERS = 340
SEED = 20261122
VAGUE_TAILS = {"complements": "other accessories", "substitutes": "similar products from other brands"}
INVALID_ANSWER_FOR = ("usage", 7)  # (factor, product index): one answer that breaks the schema

RATIONALES = {
    "complement": "Shoppers who buy a {head} usually pick up {tail} to use alongside it.",
    "accessory": "{tail} attaches to or protects a {head}.",
    "consumable": "A {head} uses up {tail}, so buyers restock it regularly.",
    "substitute": "{tail} meets the same need as this {head}.",
    "for_occasion": "A {head} is a popular purchase for {tail}.",
    "for_audience": "A {head} is especially relevant for {tail}.",
    "used_for": "A {head} is typically used for {tail}.",
}


def _confidence(*parts: str, rank: int) -> float:
    """Deterministic, plausible confidences: first answers are surer than later ones."""
    jitter = int(hashlib.sha1("|".join(parts).encode()).hexdigest()[:4], 16) / 0xFFFF
    return round(max(0.3, min(0.97, 0.92 - 0.07 * rank + 0.08 * (jitter - 0.5))), 2)


def _product_rows() -> tuple[list[dict], dict[str, ProductType]]:
    rows, type_of = [], {}
    injected = False
    for type_index, ptype in enumerate(TYPES):
        for offset, (title, brand, price, description) in enumerate(ptype.products):
            product_id = f"D{type_index + 1:03d}{offset + 1}"
            if ptype.key == INJECTED_DESCRIPTION_TYPE and not injected:
                description, injected = INJECTED_DESCRIPTION, True
            rows.append({
                "product_id": product_id, "title": title, "brand": brand, "price": price,
                "category_path": f"{ROOT} > {ptype.category} > {ptype.subcategory}",
                "description": description,
            })
            type_of[product_id] = ptype
    return rows, type_of


def _concepts(ptype: ProductType, field: str) -> list[str]:
    own = list(getattr(ptype, field))
    for default in CATEGORY_DEFAULTS[ptype.category].get(field, []):
        if default.lower() not in {c.lower() for c in own}:
            own.append(default)
    return own[:5]


def factor_answer(product: dict, ptype: ProductType, factor: str, siblings: list[dict]) -> dict:
    """What the LLM says about one product for one factor."""
    proposals: list[tuple[str, str, str]] = []  # relation, tail, kind
    if factor == "complements":
        proposals += [("accessory", t, "product") for t in ptype.accessory]
        proposals += [("complement", t, "product") for t in ptype.complement]
    elif factor == "consumables":
        proposals += [("consumable", t, "product") for t in ptype.consumable]
    elif factor == "substitutes":
        proposals += [("substitute", f"{s['brand']} {ptype.label}", "product") for s in siblings]
        proposals += [("substitute", t, "product") for t in ptype.substitute]
    elif factor == "occasions":
        proposals += [("for_occasion", t, "concept") for t in _concepts(ptype, "occasion")]
    elif factor == "audience":
        proposals += [("for_audience", t, "concept") for t in _concepts(ptype, "audience")]
    elif factor == "usage":
        proposals += [("used_for", t, "concept") for t in _concepts(ptype, "usage")]
    if factor in VAGUE_TAILS and proposals:
        proposals.append(({"complements": "complement", "substitutes": "substitute"}[factor], VAGUE_TAILS[factor], "product"))
    relations = []
    for rank, (relation, tail, kind) in enumerate(proposals[:8]):
        confidence = _confidence(product["product_id"], factor, tail, rank=rank)
        if tail in VAGUE_TAILS.values():
            confidence = 0.35
        relations.append({
            "relation": relation, "tail": tail, "tail_kind": kind, "confidence": confidence,
            "rationale": RATIONALES[relation].format(head=ptype.label, tail=tail),
        })
    return {"relations": relations}


def cluster_answer(members: list[str], type_of: dict[str, ProductType]) -> dict:
    """Collective knowledge: concepts that hold for most members of the cluster."""
    types = [type_of[m] for m in members]
    labels = Counter(t.label for t in types)
    theme = ", ".join(label for label, _ in labels.most_common(3))
    relations = []
    for relation, field in (("for_occasion", "occasion"), ("for_audience", "audience"), ("used_for", "usage")):
        counts = Counter(c for t in types for c in {x.lower(): x for x in _concepts(t, field)}.values())
        for concept, n in counts.most_common(3):
            share = n / len(members)
            if share < 0.5:
                continue
            relations.append({
                "relation": relation, "tail": concept, "tail_kind": "concept",
                "confidence": round(min(0.95, 0.5 + 0.45 * share), 2),
                "rationale": f"Applies to {n} of the {len(members)} products in this group ({theme}).",
            })
    return {"theme": theme, "relations": relations}


def interpretation_answer(a_id: str, b_id: str, type_of: dict[str, ProductType]) -> dict:
    """What the LLM says about why the co-purchased products `a_id` and `b_id` go together
    (the hand-written PAIR_INTERPRETATIONS, by their types; "none" for a pair not listed)."""
    a_type, b_type = type_of[a_id].key, type_of[b_id].key
    if {a_type, b_type} == set(INVALID_INTERPRETATION):
        return {"relation": "bundle", "head": "A", "concept": None, "confidence": 0.8,
                "rationale": "Sold together as a bundle."}
    for table in (PAIR_INTERPRETATIONS, INTERPRETATION_ERRORS):
        for first, second, relation, head, concept, rationale in table:
            if {first, second} == {a_type, b_type}:
                return {"relation": relation, "head": "B" if head == b_type and head != a_type else "A",
                        "concept": concept, "rationale": rationale,
                        "confidence": 0.6 if table is INTERPRETATION_ERRORS else _confidence(a_id, b_id, rank=1)}
    return {"relation": "none", "head": "A", "concept": None, "confidence": 0.7,
            "rationale": f"A {type_of[a_id].label} and a {type_of[b_id].label} share no use."}


def _interactions(products: list[dict], type_of: dict[str, ProductType]) -> list[dict]:
    rng = random.Random(SEED)
    by_type: dict[str, list[str]] = {}
    for row in products:
        by_type.setdefault(type_of[row["product_id"]].key, []).append(row["product_id"])
    all_ids = [row["product_id"] for row in products]
    start = datetime(2026, 3, 1, 9, 0)
    events = []
    for user_number in range(1, N_USERS + 1):
        user = f"U{user_number:04d}"
        clock = start + timedelta(days=rng.randrange(0, 150), minutes=rng.randrange(0, 600))
        for session_number in range(rng.choice([1, 1, 2, 2, 3])):
            mission = rng.choice(MISSIONS)
            keep = max(2, round(len(mission) * rng.uniform(0.6, 1.0)))
            chosen = mission[:keep] if rng.random() < 0.7 else rng.sample(mission, keep)
            session = f"{user}-S{session_number + 1}"
            for type_key in chosen:
                clock += timedelta(minutes=rng.randrange(1, 20))
                events.append({"user_id": user, "session_id": session, "product_id": rng.choice(by_type[type_key]),
                               "ts": clock.isoformat(timespec="seconds")})
            if rng.random() < 0.2:  # browsing noise
                clock += timedelta(minutes=rng.randrange(1, 20))
                events.append({"user_id": user, "session_id": session, "product_id": rng.choice(all_ids),
                               "ts": clock.isoformat(timespec="seconds")})
            clock += timedelta(days=rng.randrange(3, 40))
    return events


def write_demo(out_dir: Path = DEMO_DIR) -> dict:
    from pkg_assets.recordings import plan_clusters, plan_interpretations
    from pkg_assets.resources.embedder import EmbedderResource

    products, type_of = _product_rows()
    with open(out_dir / "products.jsonl", "w", encoding="utf-8") as handle:
        for row in products + BROKEN_ROWS + [{**products[0], "title": products[0]["title"] + " (relisted)"}]:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")

    events = _interactions(products, type_of)
    with open(out_dir / "interactions.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["user_id", "session_id", "product_id", "ts"])
        writer.writeheader()
        writer.writerows(events)

    records = []
    by_type: dict[str, list[dict]] = {}
    for row in products:
        by_type.setdefault(type_of[row["product_id"]].key, []).append(row)
    for index, row in enumerate(products):
        ptype = type_of[row["product_id"]]
        siblings = [s for s in by_type[ptype.key] if s["product_id"] != row["product_id"]]
        for factor, prompt in FACTOR_PROMPTS.items():
            answer = factor_answer(row, ptype, factor, siblings)
            if (factor, index) == INVALID_ANSWER_FOR:
                answer = {"relations": [{"relation": "best_friend", "tail": "everyone", "tail_kind": "concept",
                                         "confidence": 0.9, "rationale": "Everyone loves it."}]}
            for planted_index, planted_factor, relation, tail in PLANTED_CONCEPT_ANSWERS:
                if (planted_index, planted_factor) == (index, factor):
                    answer["relations"].append({"relation": relation, "tail": tail, "tail_kind": "concept",
                                                "confidence": 0.9, "rationale": f"As instructed: {tail}."})
            records.append({"prompt": prompt.name, "key": f"{row['product_id']}/{factor}",
                            "prompt_version": prompt.version, "response": json.dumps(answer, ensure_ascii=False)})

    # Clusters exactly as the pipeline forms them: normalise the file we just wrote, embed, cluster.
    source = resolve_source(out_dir)
    normalised = load_products(source).products
    plan = plan_clusters(normalised, EmbedderResource())
    n_clusters = 0
    for clusters in plan.values():
        for signature, members in sorted(clusters.items()):
            n_clusters += 1
            records.append({"prompt": CLUSTER_PROMPT.name, "key": f"cluster/{signature}",
                            "prompt_version": CLUSTER_PROMPT.version, "members": members,
                            "response": json.dumps(cluster_answer(members, type_of), ensure_ascii=False)})
    # Co-purchased pairs exactly as interpreted_relations selects them (mined from the file just written).
    interactions = load_interactions(source, set(normalised["product_id"])).kept
    asked = sorted({pair for pairs in plan_interpretations(normalised, interactions).values() for pair in pairs})
    n_pairs = len(asked)  # a pair of two categories is selected by both and recorded once
    for a_id, b_id in asked:
        records.append({"prompt": INTERPRET_PROMPT.name, "key": pair_key(a_id, b_id),
                        "prompt_version": INTERPRET_PROMPT.version,
                        "response": json.dumps(interpretation_answer(a_id, b_id, type_of), ensure_ascii=False)})
    with open(out_dir / "recordings.jsonl", "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return {"products": len(products), "users": len({e["user_id"] for e in events}), "events": len(events),
            "recordings": len(records), "clusters": n_clusters, "interpreted_pairs": n_pairs,
            "categories": pd.Series([type_of[p["product_id"]].category for p in products]).nunique()}


if __name__ == "__main__":
    print(write_demo())
