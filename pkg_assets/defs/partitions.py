"""The category partitions every per-category asset shares."""

import dagster as dg

CATEGORY_PARTITIONS_NAME = "category"
category_partitions = dg.DynamicPartitionsDefinition(name=CATEGORY_PARTITIONS_NAME)
