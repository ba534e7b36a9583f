"""Blocking asset checks that run the Great Expectations suites in `expectations/`.

A failed expectation of severity "critical" fails the check with ERROR severity, which
stops downstream assets in the same run; "warning"/"info" expectations only warn. The
check's metadata is a table of every expectation with its result and unexpected count.
"""


from collections.abc import Callable

import dagster as dg
import duckdb
import pandas as pd

from pkg_assets import settings
from pkg_assets.core.gate import GateConfig
from pkg_assets.core.models import BEHAVIOR_RELATIONS, LLM_RELATIONS
from pkg_assets.core.quality import run_suite
from pkg_assets.defs.extraction.assets import llm_relations
from pkg_assets.defs.partitions import category_partitions
from pkg_assets.resources.warehouse import WarehouseResource


def _unknown(column: str, among: str = "SELECT product_id FROM products") -> str:
    """`unknown_<column>`: the id when the catalog (or `among`) lacks it, else NULL.

    An anti-join in DuckDB: handing the suite every catalog id as a value set cost more than
    the checks themselves (62% of their CPU went to serialising the set at 12k products), and
    the NULL-unless-unknown column still shows the offending ids in the suite's report."""
    return f"CASE WHEN {column} NOT IN ({among}) THEN {column} END AS unknown_{column}"


def suite_check_result(suite: str, frame: pd.DataFrame, parameters: dict) -> dg.AssetCheckResult:
    outcome = run_suite(settings.expectations_dir() / f"{suite}.json", frame, parameters)
    blocking = outcome.blocking_failures
    failed = [o for o in outcome.outcomes if not o.success]
    return dg.AssetCheckResult(
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        description=(f"{len(failed)} of {len(outcome.outcomes)} expectations failed "
                     f"({len(blocking)} critical)") if failed else f"all {len(outcome.outcomes)} expectations passed",
        metadata={
            "suite": suite,
            "rows_validated": outcome.rows,
            "expectations": dg.MetadataValue.md(outcome.markdown()),
            "failed": len(failed),
            "critical_failures": len(blocking),
        },
    )


def make_suite_check(asset: dg.AssetsDefinition | str, suite: str,
                     load: Callable[[duckdb.DuckDBPyConnection, str | None], tuple[pd.DataFrame, dict]],
                     partitioned: bool = True) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset,
        name=f"{suite}_suite",
        blocking=True,
        partitions_def=category_partitions if partitioned else None,
        description=f"Great Expectations suite expectations/{suite}.json (critical failures block downstream).",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        partition = context.partition_key if partitioned else None
        with warehouse.connect() as conn:
            frame, parameters = load(conn, partition)
        return suite_check_result(suite, frame, parameters)

    return _check


def _load_llm_relations(conn, category):
    frame = conn.execute(f"SELECT *, {_unknown('head_id')} FROM llm_relations WHERE category = ?", [category]).df()
    return frame, {"relation_vocabulary": list(LLM_RELATIONS)}


def _load_resolved(conn, category):
    frame = conn.execute(f"SELECT *, {_unknown('tail_id')} FROM resolved_relations WHERE category = ?",
                         [category]).df()
    frame["is_unresolved"] = (frame["decision"] == "unresolved").astype(float)
    return frame, {}


def _load_gate_output(conn, category):
    frame = conn.execute(
        f"""
        SELECT *, {_unknown('head_id')}, {_unknown('tail_id')} FROM (
            SELECT *, true AS accepted FROM validated_relations WHERE category = $c
            UNION ALL BY NAME
            SELECT *, false AS accepted FROM rejected_relations WHERE category = $c)
        """,
        {"c": category},
    ).df()
    frame["self_loop"] = frame["head_id"] == frame["tail_id"]
    frame["tail_key"] = frame["tail_id"].fillna("mention:" + frame["tail_mention"].str.lower())
    gate = GateConfig()
    return frame, {
        "relation_vocabulary": list(LLM_RELATIONS),
        "min_acceptance_rate": gate.min_acceptance_rate, "max_acceptance_rate": gate.max_acceptance_rate,
    }


def _load_pkg_edges(conn, _partition):
    frame = conn.execute(
        f"SELECT *, {_unknown('src_id')}, {_unknown('dst_id', 'SELECT node_id FROM pkg_nodes')} FROM pkg_edges").df()
    frame["self_loop"] = frame["src_id"] == frame["dst_id"]
    return frame, {"graph_vocabulary": [*LLM_RELATIONS, *BEHAVIOR_RELATIONS]}


llm_relations_suite = make_suite_check(llm_relations, "llm_relations", _load_llm_relations)
resolved_relations_suite = make_suite_check(dg.AssetKey("resolved_relations"), "resolved_relations", _load_resolved)
validated_relations_suite = make_suite_check(dg.AssetKey("validated_relations"), "validated_relations", _load_gate_output)
pkg_edges_suite = make_suite_check(dg.AssetKey("pkg_edges"), "pkg_edges", _load_pkg_edges, partitioned=False)

SUITE_CHECKS = [llm_relations_suite, resolved_relations_suite, validated_relations_suite, pkg_edges_suite]
