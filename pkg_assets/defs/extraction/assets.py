"""LLM relation extraction with factorization prompts (REKI individual knowledge)."""


import os
from datetime import datetime, timezone
from typing import Literal

import dagster as dg
import pandas as pd
from pydantic import Field

from pkg_assets.core.extraction import parse_factor_answer, relation_rows
from pkg_assets.core.models import FACTORS, FactorAnswer
from pkg_assets.core.prompts import FACTOR_PROMPTS, product_prompt_input
from pkg_assets.defs.automation import LLM_RETRY
from pkg_assets.defs.catalog.assets import products
from pkg_assets.defs.metadata import counts_table, preview
from pkg_assets.defs.partitions import category_partitions
from pkg_assets.resources.llm import LLMRequest, LLMResource, parse_results
from pkg_assets.resources.warehouse import WarehouseResource, replace_partition, sql_text

LLM_RELATIONS_COLUMNS = [
    "category", "head_id", "factor", "relation", "tail_mention", "tail_kind", "confidence",
    "rationale", "call_id", "model", "prompt_version", "extracted_at",
]


class ExtractionConfig(dg.Config):
    force: bool = Field(default=False, description="ask the LLM again even when the ledger has an answer")
    factors: list[str] = Field(default=list(FACTORS), description="factor prompts to ask")
    samples_per_prompt: int = Field(
        default=1, ge=1, le=10,
        description="answers per prompt: the first at the model's temperature, the others sampled at "
        "`sample_temperature`; the gate counts a relation proposed in several samples as self-consistent")
    sample_temperature: float = Field(default=0.8, ge=0.0, le=2.0, description="temperature of the extra samples")
    max_products: int | None = Field(
        default=None, ge=0,
        description="ask about at most this many products of the partition (a budget: the rest are reported, "
        "not asked); default PKG_LLM_MAX_PRODUCTS, else every product")
    priority: Literal["interactions", "catalog"] = Field(
        default="interactions",
        description="which products come first under max_products: most interactions first, or product id order")

    def product_budget(self) -> int | None:
        if self.max_products is not None:
            return self.max_products
        raw = os.environ.get("PKG_LLM_MAX_PRODUCTS", "").strip()
        if not raw:
            return None
        if not raw.isdigit():
            raise dg.Failure(f"PKG_LLM_MAX_PRODUCTS={raw!r} is not a whole number", allow_retries=False)
        return int(raw)


def category_products(conn, category: str, priority: str = "catalog") -> list[dict]:
    """The partition's products in the order extraction asks about them (`sql/extraction_products.sql`)."""
    rows = conn.execute(sql_text("extraction_products"), {"c": category, "priority": priority}).df()
    return rows.drop(columns="events").to_dict("records")


def factor_requests(product_rows: list[dict], factors: list[str], category: str, samples: int = 1,
                    sample_temperature: float | None = None) -> list[LLMRequest]:
    """One request per product, factor and sample.

    Sample 1 is the plain prompt (its ledger key and replay key are the same as without
    sampling). Samples 2..n add their number to the cache key's input, so each is its own
    ledger row, and are asked at `sample_temperature`.
    """
    unknown = set(factors) - set(FACTORS)
    if unknown:
        raise dg.Failure(f"unknown factor(s) {sorted(unknown)}; known: {list(FACTORS)}", allow_retries=False)
    requests = []
    for product in product_rows:
        prompt_input = product_prompt_input(product)
        for factor in factors:
            for sample in range(1, samples + 1):
                suffix = "" if sample == 1 else f"#sample{sample}"
                requests.append(LLMRequest(
                    prompt=FACTOR_PROMPTS[factor],
                    prompt_input=prompt_input if sample == 1 else {**prompt_input, "sample": sample},
                    render_context={"product": prompt_input},
                    replay_key=f"{product['product_id']}/{factor}{suffix}",
                    partition=category,
                    subject=f"product {product['product_id']} ({product['title'][:60]}) / {factor}{suffix}",
                    schema=FactorAnswer,
                    temperature=None if sample == 1 else sample_temperature,
                ))
    return requests


def factor_of(request: LLMRequest) -> str:
    """The factor a request asks about (its replay key is `<product>/<factor>[#sample<n>]`)."""
    return request.replay_key.split("#", 1)[0].rsplit("/", 1)[1]


@dg.asset(
    group_name="extraction",
    partitions_def=category_partitions,
    deps=[products],
    kinds={"duckdb", "litellm"},
    pool="llm",
    retry_policy=LLM_RETRY,
    description="Relations proposed by the LLM for each product, one factorization prompt per "
    "factor (complements, consumables, substitutes, occasions, audience, usage). Every call is "
    "in the `llm_calls` ledger first; identical calls are answered from it.",
)
def llm_relations(context: dg.AssetExecutionContext, config: ExtractionConfig, llm: LLMResource,
                  warehouse: WarehouseResource) -> dg.MaterializeResult:
    category = context.partition_key
    with warehouse.connect() as conn:
        product_rows = category_products(conn, category, config.priority)
    budget = config.product_budget()
    over_budget = product_rows[budget:] if budget is not None else []
    product_rows = product_rows[:budget] if budget is not None else product_rows
    if over_budget:
        context.log.info(f"budget: extracting {len(product_rows)} products ({config.priority} first); "
                         f"{len(over_budget)} are not asked (max_products={budget})")
    requests = factor_requests(product_rows, config.factors, category, config.samples_per_prompt,
                               config.sample_temperature)
    context.log.info(f"{len(product_rows)} products x {len(config.factors)} factors x "
                     f"{config.samples_per_prompt} samples = {len(requests)} prompts")
    # The warehouse is not held while the LLM answers: the ledger opens it per group commit.
    results, stats = llm.ask(warehouse, requests, force=config.force, log=context.log)

    with warehouse.connect() as conn:
        parsed = parse_results(conn, results, parse_factor_answer)
        rows: list[dict] = []
        for result, answer in parsed.answers:
            factor = factor_of(result.request)
            for row in relation_rows(answer, result.request.prompt_input["product_id"], factor):
                row.update(category=category, call_id=result.call_id, model=llm.model,
                           prompt_version=result.request.prompt.version)
                rows.append(row)
        stats.raise_if_failed("LLM calls")
        frame = pd.DataFrame(rows, columns=LLM_RELATIONS_COLUMNS)
        frame["extracted_at"] = datetime.now(timezone.utc).replace(tzinfo=None)
        replace_partition(conn, "llm_relations", frame, category)
    invalid = parsed.invalid

    if invalid:
        context.log.warning(f"{len(invalid)} answers failed their schema and are kept as 'invalid' in llm_calls")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(frame),
        **stats.as_metadata(),
        "invalid_answers": len(invalid),
        "invalid_examples": dg.MetadataValue.md("\n".join(f"- {i}" for i in invalid[:10]) or "_none_"),
        "products": len(product_rows),
        "products_over_budget": len(over_budget),
        "products_answered": len({r.request.prompt_input["product_id"] for r, _ in parsed.answers}),
        "model": llm.model,
        "relations_by_type": counts_table(frame["relation"], "relation"),
        "preview": preview(frame, ["head_id", "factor", "relation", "tail_mention", "confidence"]),
    })


class EstimateConfig(dg.Config):
    factors: list[str] = Field(default=list(FACTORS), description="factor prompts to estimate")
    samples_per_prompt: int = Field(default=1, ge=1, le=10, description="answers per prompt, as in llm_relations")


@dg.op(
    description="Dry run of llm_relations for one category: how many LLM calls and tokens it would "
    "need (the ledger answers the rest) and what that would cost. Calls nothing; records the estimate "
    "as an observation on llm_relations.",
)
def estimate_llm_relations(context: dg.OpExecutionContext, config: EstimateConfig, llm: LLMResource,
                           warehouse: WarehouseResource) -> dg.Output:
    category = context.partition_key
    with warehouse.connect() as conn:
        product_rows = category_products(conn, category)
        estimate = llm.estimate(conn, factor_requests(product_rows, config.factors, category,
                                                               config.samples_per_prompt))
    metadata = {**estimate.as_metadata(), "model": llm.model, "products": len(product_rows)}
    context.log.info(f"estimate for {category!r}: {metadata}")
    context.log_event(dg.AssetObservation(asset_key="llm_relations", partition=category, metadata=metadata))
    return dg.Output(estimate.calls_needed, metadata=metadata)


@dg.job(partitions_def=category_partitions, executor_def=dg.in_process_executor,
        description="Estimate LLM calls, tokens and cost of llm_relations for a category without calling.")
def estimate_llm_job():
    estimate_llm_relations()
