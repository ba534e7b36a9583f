"""Jobs and schedules.

The pipeline runs in three steps because resolution searches the whole catalog:
1. `catalog_job` (per category): products and their embeddings;
2. `interactions_job` (interactions and the behaviour mined from them) and `knowledge_job`
   (per category): LLM extraction, resolution, the LLM's interpretation of co-purchases, the
   gate, collective knowledge;
3. `graph_job`: the fused graph, the snapshot, evaluation, personalisation.
`category_rebuild_job` runs steps 1-2 for one category; the nightly schedule runs it for
every registered category. The graph's assets republish by dependency once those runs have
landed (defs/automation.py); `graph_job` runs step 3 by hand or from the CLI.
"""


import dagster as dg

from pkg_assets.defs.partitions import CATEGORY_PARTITIONS_NAME, category_partitions

CATALOG_ASSETS = dg.AssetSelection.assets("products", "product_embeddings", "product_duplicates")
KNOWLEDGE_ASSETS = dg.AssetSelection.assets(
    "llm_relations", "resolved_relations", "concepts", "interpreted_relations", "validated_relations",
    "rejected_relations",
    "product_clusters", "cluster_knowledge", "knowledge_vectors",
)
GRAPH_ASSETS = dg.AssetSelection.assets(
    "pkg_nodes", "pkg_edges", "pkg_topk", "pkg_snapshot", "graph_evaluation",
    "user_preferences", "user_kg_context",
)

# Every job runs on the code location's executor (defs/executors.py, PKG_EXECUTOR): in
# process by default, or multiprocess, or on dagster-celery workers. The warehouse takes
# concurrent writers, so steps and runs of different categories run at once.
catalog_job = dg.define_asset_job("catalog_job", CATALOG_ASSETS, partitions_def=category_partitions,
                                  description="Ingest one category's products and embed them.")
# Behaviour is mined with the interactions: each category's knowledge run interprets its
# strongest co-purchases (interpreted_relations) before the gate.
interactions_job = dg.define_asset_job("interactions_job", dg.AssetSelection.assets("interactions", "behavior_edges"),
                                       description="Ingest interactions (all users) and mine behaviour from them.")
knowledge_job = dg.define_asset_job("knowledge_job", KNOWLEDGE_ASSETS, partitions_def=category_partitions,
                                    description="LLM extraction, resolution, gate and collective knowledge for one category.")
category_rebuild_job = dg.define_asset_job("category_rebuild_job", CATALOG_ASSETS | KNOWLEDGE_ASSETS,
                                           partitions_def=category_partitions,
                                           description="Everything per category, for the nightly schedule.")
graph_job = dg.define_asset_job("graph_job", GRAPH_ASSETS,
                                description="Fuse and publish the graph, evaluate, personalise.")

JOBS = [catalog_job, interactions_job, knowledge_job, category_rebuild_job, graph_job]


@dg.schedule(job=category_rebuild_job, cron_schedule="0 1 * * *", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Nightly: one run per registered category partition (the graph follows by dependency).")
def nightly_category_rebuild(context: dg.ScheduleEvaluationContext):
    # build_schedule_from_partitioned_job rejects dynamic partitions: yield one request each.
    for category in sorted(context.instance.get_dynamic_partitions(CATEGORY_PARTITIONS_NAME)):
        yield dg.RunRequest(run_key=f"{context.scheduled_execution_time:%Y-%m-%d}-{category}",
                            partition_key=category)


SCHEDULES = [nightly_category_rebuild]

observe_catalog_job = dg.define_asset_job("observe_catalog_job", dg.AssetSelection.assets("catalog_source"),
                                          description="Observe the catalog files: records their content hash.")
JOBS.append(observe_catalog_job)
