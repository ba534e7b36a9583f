"""The catalog index is built once per catalog version, and its HNSW graph reused from disk."""

import numpy as np

from pkg_assets.defs.resolution import assets as resolution
from pkg_assets.resources.warehouse import copy_warehouse, open_folder_warehouse


def test_catalog_index_is_built_once_per_version_and_opened_from_disk_after(demo_run, tmp_path, monkeypatch):
    from usearch.index import Index

    copy_warehouse(demo_run.data, tmp_path / "data")
    resolution._LATEST_INDEX.forget()
    with open_folder_warehouse(tmp_path / "data") as conn:
        first = resolution.load_catalog_index(conn)
        assert resolution.load_catalog_index(conn) is first  # the next stage or partition: no rebuild
        assert first._dense is None and first._tfidf is None  # the gate reads vectors only: nothing built
        keys, similarity = first.search(first.vectors[:5], 3)
        assert first.index_path.exists() and (keys[:, 0] == np.arange(5)).all()
        lexical = first.lexical_search(first._norm_titles[:5], 3)
        assert first.index_path.with_suffix(".tfidf.joblib").exists()

        resolution._LATEST_INDEX.forget()  # as another process would start

        def no_build(*args, **kwargs):
            raise AssertionError("the index was built again")

        monkeypatch.setattr(Index, "add", no_build)
        second = resolution.load_catalog_index(conn)
        assert second is not first and second.index_path == first.index_path
        again_keys, again_similarity = second.search(second.vectors[:5], 3)  # opened from the file
        assert (again_keys == keys).all() and np.allclose(again_similarity, similarity)
        from sklearn.feature_extraction.text import TfidfVectorizer

        monkeypatch.setattr(TfidfVectorizer, "fit_transform", no_build)
        assert (second.lexical_search(second._norm_titles[:5], 3) == lexical).all()  # loaded, not fitted
        monkeypatch.undo()

        # Another catalog version (a product's content changed): another index.
        conn.execute("UPDATE product_embeddings SET content_hash = 'changed' WHERE product_id = "
                     "(SELECT min(product_id) FROM product_embeddings)")
        third = resolution.load_catalog_index(conn)
        assert third is not second and third.index_path != first.index_path
