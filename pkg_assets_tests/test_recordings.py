"""The demo ships a recorded answer for every prompt its pipeline asks."""

from pathlib import Path

from pkg_assets import settings
from pkg_assets.recordings import audit, needed_recordings
from pkg_assets.resources.catalog import CatalogResource
from pkg_assets.resources.embedder import EmbedderResource


def test_demo_recordings_are_complete_and_current():
    products = CatalogResource().read_products().products
    needed = needed_recordings(products, EmbedderResource())
    clusters = [n for n in needed if n.prompt == "cluster_collective"]
    assert len(needed) == 122 * 6 + len(clusters) and clusters
    missing, stale = audit(needed, [Path(settings.DEMO_RECORDINGS)])
    assert missing == [] and stale == [], "re-record: python -m pkg_assets.data.demo.authoring"
