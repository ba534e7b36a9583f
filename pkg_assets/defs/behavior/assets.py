"""Behaviour mining: co-purchase and next-item relations from interactions."""


import dagster as dg
from pydantic import Field

from pkg_assets.defs.automation import GRAPH_AUTOMATION
from pkg_assets.defs.catalog.assets import interactions
from pkg_assets.defs.metadata import counts_table, preview
from pkg_assets.resources.progress import query_progress
from pkg_assets.resources.warehouse import WarehouseResource, replace_table, sql_text


class BehaviorConfig(dg.Config):
    window: int = Field(default=5, description="positions ahead in a history that count as co-occurring")
    min_support: int = Field(default=2, description="minimum users (co_purchased) / transitions (next_item)")


def mine_behavior(conn, source_sql: str, window: int, min_support: int) -> str:
    """The SELECT that mines behaviour edges from `source_sql` (registered as behavior_input)."""
    conn.execute(f"CREATE OR REPLACE TEMP VIEW behavior_input AS {source_sql}")
    return sql_text("behavior_edges_build")


@dg.asset(
    group_name="behavior",
    automation_condition=GRAPH_AUTOMATION,
    deps=[interactions],
    kinds={"duckdb"},
    pool="duckdb",
    description="co_purchased (users with both items within a window; support, lift, Jaccard) and "
    "next_item (P(next | item)) edges. Cost grows with interactions x window, not with pairs of products.",
)
def behavior_edges(context: dg.AssetExecutionContext, config: BehaviorConfig,
                   warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as conn:
        select = mine_behavior(conn, "SELECT user_id, product_id, position FROM interactions",
                               config.window, config.min_support)
        with query_progress(conn, context.log, "behaviour mining"):
            rows = replace_table(conn, "behavior_edges", select_sql=select,
                                 params={"window": config.window, "min_support": config.min_support})
        frame = conn.execute("SELECT * FROM behavior_edges ORDER BY support DESC LIMIT 10").df()
        by_relation = conn.execute("SELECT relation FROM behavior_edges").df()["relation"]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "by_relation": counts_table(by_relation, "relation"),
        "window": config.window,
        "min_support": config.min_support,
        "strongest": preview(frame, ["src_id", "relation", "dst_id", "support", "lift", "score"]),
    })
