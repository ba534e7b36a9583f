"""Code versions derived from what each asset runs, so that staleness means something.

An asset's `code_version` is `core.code_identity.fingerprint` of its compute function (the
source of everything of this package it reaches, its constants, prompt versions and SQL
files) plus the `result_identity()` of each resource it requires: the LLM model and the
settings that change answers, the embedding model, the catalog reader settings and reader
code. A prompt edit, a SQL edit, an edit of a core function or a model switch changes the
code version of exactly the assets that run them, and Dagster marks those stale; their
re-materialisation gives a new data version, which marks the next ones stale in turn.
"""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from pkg_assets.core.code_identity import fingerprint


def compute_function(assets_def: dg.AssetsDefinition) -> Callable | None:
    if not isinstance(assets_def, dg.AssetsDefinition) or not assets_def.is_materializable:
        return None  # observable sources: their data version is what they observe
    return getattr(assets_def.op.compute_fn, "decorated_fn", None)


def code_versions(assets: list[dg.AssetsDefinition], resources: dict) -> dict[dg.AssetKey, str]:
    """The derived code version of every executable asset, by key."""
    # once per resource: the catalog's reads the reader code, the replay model's hashes its recordings
    identity_of = {key: resource.result_identity() for key, resource in resources.items()
                   if hasattr(resource, "result_identity")}
    versions: dict[dg.AssetKey, str] = {}
    for assets_def in assets:
        fn = compute_function(assets_def)
        if fn is None:
            continue
        identities = {key: identity_of[key] for key in sorted(assets_def.required_resource_keys) if key in identity_of}
        version = fingerprint(fn, identities)
        for key in assets_def.keys:
            versions[key] = version
    return versions


def with_code_versions(assets: list, resources: dict) -> list:
    """The assets with their derived code versions (observable sources unchanged)."""
    versions = code_versions(assets, resources)

    def versioned(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.replace_attributes(code_version=versions[spec.key]) if spec.key in versions else spec

    return [dg.map_asset_specs(versioned, [a])[0] if isinstance(a, dg.AssetsDefinition) and a.is_materializable
            else a for a in assets]
