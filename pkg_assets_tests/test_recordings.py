"""The demo ships a recorded answer for every prompt its pipeline asks."""

from pathlib import Path

from pkg_assets import settings
from pkg_assets.recordings import audit, needed_recordings
from pkg_assets.resources.catalog import CatalogResource
from pkg_assets.resources.embedder import EmbedderResource


def _demo_catalog():
    catalog = CatalogResource()
    products = catalog.read_products().products
    return products, catalog.read_interactions(set(products["product_id"])).kept


def test_demo_recordings_are_complete_and_current():
    products, interactions = _demo_catalog()
    needed = needed_recordings(products, EmbedderResource(), interactions=interactions)
    clusters = [n for n in needed if n.prompt == "cluster_collective"]
    pairs = [n for n in needed if n.prompt == "interpret_pair"]
    assert len(needed) == 122 * 6 + len(clusters) + len(pairs) and clusters and len(pairs) > 100
    missing, stale = audit(needed, [Path(settings.DEMO_RECORDINGS)])
    assert missing == [] and stale == [], "re-record: python -m pkg_assets.data.demo.authoring"


def test_a_wider_pair_selection_needs_recordings_the_demo_lacks():
    from pkg_assets.defs.behavior.assets import InterpretationConfig
    from pkg_assets.recordings import plan_interpretations

    products, interactions = _demo_catalog()
    default = plan_interpretations(products, interactions)
    wider = plan_interpretations(products, interactions, InterpretationConfig(min_support=2, per_product=6))
    new_pairs = {pair for pairs in wider.values() for pair in pairs} - {p for ps in default.values() for p in ps}
    assert new_pairs  # more pairs pass; the demo recorded the default selection only
    recorded = Path(settings.DEMO_RECORDINGS).read_text()
    assert not any(f'"pair/{a}/{b}"' in recorded for a, b in new_pairs)


def test_pkg_recordings_reuses_the_warehouse_vectors_and_fails_on_a_stale_recording(demo_run, tmp_path, monkeypatch,
                                                                                     capsys):
    import json

    from pkg_assets.cli import recordings_main
    from pkg_assets.recordings import plan_clusters, stored_embeddings

    products = CatalogResource().read_products().products
    embedder = EmbedderResource()
    monkeypatch.setenv("PKG_DATA_DIR", demo_run.env["PKG_DATA_DIR"])
    stored = stored_embeddings(embedder.model_name)
    assert len(stored) == len(products)

    class Counting:
        calls = 0

        def encode(self, texts):
            Counting.calls += 1
            return embedder.encode(texts)

    # the plan from the stored vectors is the plan from embedding, and embeds nothing
    assert plan_clusters(products, Counting(), stored) == plan_clusters(products, embedder)
    assert Counting.calls == 0

    assert recordings_main([]) == 0
    assert "missing: 0  stale: 0" in capsys.readouterr().out

    record = json.loads(Path(settings.DEMO_RECORDINGS).read_text().splitlines()[0])
    stale = tmp_path / "stale.jsonl"  # one answer recorded for an older prompt (later files override)
    stale.write_text(json.dumps(record | {"prompt_version": record["prompt_version"][:-4] + "0000"}) + "\n")
    monkeypatch.setenv("PKG_REPLAY_RECORDINGS", str(stale))
    assert recordings_main([]) == 1
    out, err = capsys.readouterr()
    assert f"stale    {record['prompt']}" in out and "stale: 1" in out and "missing or stale" in err
