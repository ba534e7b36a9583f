import gzip
import json

import pandas as pd
import pytest

from pkg_assets.core import catalog as c
from pkg_assets.settings import DEMO_DIR
from pkg_assets_tests.conftest import BEAUTY, GIFTCARDS, requires


def _normalise(path, fmt="auto", column_map=None, level=2):
    source = c.resolve_source(path, fmt)
    raw = c.read_products_raw(source, column_map)
    return c.normalise_products(raw, level, str(source.products_path))


def test_demo_layout_reads_products_and_quarantines_the_broken_rows():
    products, rejected = _normalise(DEMO_DIR)
    assert len(products) >= 120
    assert products["category"].nunique() >= 6
    assert products["product_id"].is_unique
    reasons = set(rejected["reason"].str.split(" \\(").str[0])
    assert reasons == {"missing product_id", "empty title", "unparsable price 'twelve dollars'",
                       "duplicate product_id"}


def test_generic_csv_with_column_mapping_and_html_entities(tmp_path):
    path = tmp_path / "shop.csv"
    pd.DataFrame({
        "sku": ["A1", "A2"], "name": ["Tea &amp; Biscuits &#39;Deluxe&#39;", "Mug"],
        "maker": ["Leaf &amp;amp; Co.", ""], "cost": ["$1,299.50", ""], "cats": ["Home > Kitchen > Tea", "Home"],
    }).to_csv(path, index=False)
    products, rejected = _normalise(path, column_map={
        "product_id": "sku", "title": "name", "brand": "maker", "price": "cost", "category_path": "cats"})
    assert rejected.empty
    first = products.iloc[0]
    assert first["title"] == "Tea & Biscuits 'Deluxe'"
    assert first["brand"] == "Leaf & Co."
    assert first["price"] == 1299.5
    assert first["category"] == "Kitchen"
    assert products.iloc[1]["category"] == "Home"  # shorter path: its deepest level
    assert pd.isna(products.iloc[1]["price"]) and pd.isna(products.iloc[1]["brand"])


def test_parquet_catalog(tmp_path):
    path = tmp_path / "catalog.parquet"
    pd.DataFrame({"product_id": ["P1"], "title": ["Kettle"], "category_path": ["Home > Kitchen"]}).to_parquet(path)
    products, _ = _normalise(path)
    assert products.iloc[0]["title"] == "Kettle" and products.iloc[0]["category"] == "Kitchen"


def test_missing_column_names_the_column_and_the_file(tmp_path):
    path = tmp_path / "shop.csv"
    pd.DataFrame({"sku": ["A1"], "title": ["Mug"]}).to_csv(path, index=False)
    with pytest.raises(c.CatalogError, match=r"'product_id'.*shop\.csv"):
        _normalise(path)
    with pytest.raises(c.CatalogError, match=r"'brand' \(mapped from 'maker'\).*shop\.csv"):
        _normalise(path, column_map={"product_id": "sku", "brand": "maker"})


@pytest.mark.parametrize("row, reason", [
    ({"product_id": "", "title": "Mug"}, "missing product_id"),
    ({"product_id": "P9", "title": "  "}, "empty title"),
    ({"product_id": "P1", "title": "Second"}, "duplicate product_id (first seen at row 1)"),
    ({"product_id": "P8", "title": "Pen", "price": "cheap"}, "unparsable price 'cheap'"),
])
def test_bad_rows_are_quarantined_with_their_reason(tmp_path, row, reason):
    path = tmp_path / "shop.csv"
    pd.DataFrame([{"product_id": "P1", "title": "First", "price": "3"}, row]).to_csv(path, index=False)
    products, rejected = _normalise(path)
    assert list(products["product_id"]) == ["P1"]
    assert list(rejected["reason"]) == [reason]
    assert list(rejected["source_row"]) == [2]


def _write_gz(path, lines):
    with gzip.open(path, "wt") as handle:
        handle.write("\n".join(lines) + "\n")


def test_amazon_2014_metadata(tmp_path):
    path = tmp_path / "meta_Beauty.json.gz"
    _write_gz(path, [
        str({"asin": "B001", "title": "Nail Polish &amp; Top Coat", "price": 7.5, "brand": "OPI",
             "categories": [["Beauty", "Makeup", "Nails"]], "related": {"also_bought": ["B002"]}}),
        str({"asin": "B002", "title": "Remover", "categories": [["Beauty", "Makeup"]]}),
    ])
    products, rejected = _normalise(path)
    assert rejected.empty
    assert products.iloc[0][["title", "brand", "price", "category"]].tolist() == ["Nail Polish & Top Coat", "OPI", 7.5, "Makeup"]


def test_amazon_2018_metadata_and_reviews(tmp_path):
    meta = tmp_path / "meta_Gift_Cards.json.gz"
    _write_gz(meta, [
        json.dumps({"asin": "G1", "title": "Gift Card", "brand": "Shop", "price": "$25.00",
                    "category": ["Gift Cards", "Restaurants"], "description": ["Nice", "card"]}),
        json.dumps({"asin": "G2", "title": "Holder", "price": "<div class=...>", "category": []}),
    ])
    reviews = tmp_path / "Gift_Cards_5.json.gz"
    _write_gz(reviews, [
        json.dumps({"reviewerID": "U1", "asin": "G1", "unixReviewTime": 1500000000}),
        json.dumps({"reviewerID": "U1", "asin": "G9", "unixReviewTime": 1400000000}),
    ])
    source = c.resolve_source(meta, interactions_path=reviews)
    products, rejected = c.normalise_products(c.read_products_raw(source), 2, str(meta))
    assert products.iloc[0][["price", "category", "description"]].tolist() == [25.0, "Restaurants", "Nice card"]
    assert rejected.iloc[0]["reason"].startswith("unparsable price")
    kept, dropped = c.split_interactions(c.read_interactions(source), set(products["product_id"]))
    assert list(kept["product_id"]) == ["G1"] and list(kept["position"]) == [1]  # ordered by time
    assert list(dropped["reason"]) == ["product not in catalog"]


def test_interactions_quarantine_missing_user_and_unknown_product(tmp_path):
    (tmp_path / "products.csv").write_text("product_id,title\nP1,Mug\n")
    (tmp_path / "interactions.csv").write_text("user_id,product_id,position\nU1,P1,0\n,P1,1\nU2,P7,0\nU3,P1,x\n")
    source = c.resolve_source(tmp_path)
    kept, rejected = c.split_interactions(c.read_interactions(source), {"P1"})
    assert len(kept) == 1
    assert sorted(rejected["reason"]) == ["missing user_id", "product not in catalog", "unparsable position"]


@requires(BEAUTY)
def test_amazon_beauty_layout():
    source = c.resolve_source(BEAUTY)
    products, rejected = c.normalise_products(c.read_products_raw(source), 2, str(source.products_path))
    assert len(products) + len(rejected) == 12084
    assert set(rejected["reason"]) <= {"empty title"}
    assert not products["title"].str.contains("&amp;|&#39;").any()
    assert products["category"].value_counts().to_dict()["Skin Care"] > 3000
    kept, dropped = c.split_interactions(c.read_interactions(source), set(products["product_id"]))
    assert len(kept) + len(dropped) == 198300  # nothing lost: events of untitled products are quarantined
    assert set(dropped["reason"]) == {"product not in catalog"}


@requires(GIFTCARDS)
def test_amazon_giftcards_metadata():
    source = c.resolve_source(GIFTCARDS / "meta_Gift_Cards.json.gz")
    products, rejected = c.normalise_products(c.read_products_raw(source), 2, str(source.products_path))
    assert len(products) + len(rejected) == 1547
    assert len(products) > 1500
