"""LlamaRec-LKG-RAG: per-user relation preferences and relation-path context for LLM rankers."""


import dagster as dg
from pydantic import Field

from pkg_assets.core.personalization import kg_context, relation_preferences
from pkg_assets.defs.automation import GRAPH_AUTOMATION
from pkg_assets.defs.graph.assets import pkg_edges, pkg_nodes
from pkg_assets.defs.metadata import preview
from pkg_assets.resources.warehouse import WarehouseResource, replace_table


@dg.asset(
    group_name="personalization",
    automation_condition=GRAPH_AUTOMATION,
    deps=[pkg_edges, "interactions"],
    kinds={"duckdb", "pandas"},
    pool="duckdb",
    description="How strongly each user's history follows each relation type of the graph "
    "(add-one smoothed share of consecutive items linked by it, directly or via a shared concept).",
)
def user_preferences(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as conn:
        histories = (conn.execute("SELECT user_id, product_id, position FROM interactions ORDER BY user_id, position")
                     .df().groupby("user_id")["product_id"].agg(list).to_dict())
        edges = conn.execute("SELECT src_id, relation, dst_id, dst_type FROM pkg_edges").df()
        relations = sorted(edges["relation"].unique())
        frame = relation_preferences(histories, edges, relations)
        rows = replace_table(conn, "user_preferences", frame)
    top = frame.sort_values("weight", ascending=False).drop_duplicates("user_id").head(10)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows, "users": len(histories), "relations": len(relations),
        "strongest_preferences": preview(top, ["user_id", "relation", "weight", "support"]),
    })


class ContextConfig(dg.Config):
    recent_items: int = Field(default=3, description="history items paths start from")
    paths_per_user: int = Field(default=10, description="paths kept per user")


@dg.asset(
    group_name="personalization",
    automation_condition=GRAPH_AUTOMATION,
    deps=[user_preferences, pkg_nodes, pkg_edges],
    kinds={"duckdb", "pandas"},
    pool="duckdb",
    description="Top scored relation paths from each user's recent items (edge weight x the user's "
    "relation preference x recency), rendered as sentences for an LLM ranker's prompt.",
)
def user_kg_context(config: ContextConfig, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect() as conn:
        histories = (conn.execute("SELECT user_id, product_id, position FROM interactions ORDER BY user_id, position")
                     .df().groupby("user_id")["product_id"].agg(list).to_dict())
        preferences = conn.execute("SELECT * FROM user_preferences").df()
        edges = conn.execute("SELECT src_id, relation, dst_id, weight FROM pkg_edges").df()
        names = dict(conn.execute("SELECT node_id, name FROM pkg_nodes").fetchall())
        frame = kg_context(histories, preferences, edges, names, config.recent_items, config.paths_per_user)
        rows = replace_table(conn, "user_kg_context", frame)
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows,
        "users_with_context": int(frame["user_id"].nunique()) if len(frame) else 0,
        "example": preview(frame.head(10), ["user_id", "rank", "path_text", "score"]),
    })
