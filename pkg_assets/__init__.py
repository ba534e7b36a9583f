"""pkg_assets: distil LLM product knowledge offline into a served product knowledge graph."""

import os

# Offline-safe defaults, set before litellm / sentence-transformers / GE are imported:
# litellm would fetch its price list at import, the embedder would try the hub, GE would
# send analytics. Users can still override each of them in the environment.
for _name, _value in {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "TOKENIZERS_PARALLELISM": "false",
    "DAGSTER_DISABLE_TELEMETRY": "1",
}.items():
    os.environ.setdefault(_name, _value)

# PKG_THREADS: threads per process for the native libraries (torch, BLAS, DuckDB). Unset, each
# uses every core, which is right for one run on a machine; several runs at once on the same
# cores should share them (cores / runs each) rather than oversubscribe. Set before numpy and
# torch load, which read these variables once.
if os.environ.get("PKG_THREADS", "").strip():
    for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_name, os.environ["PKG_THREADS"].strip())
