import gzip
import json

import pandas as pd
import pytest

from pkg_assets.core import catalog as c
from pkg_assets.core.readers import ReaderOptions
from pkg_assets.settings import DEMO_DIR
from pkg_assets_tests.conftest import BEAUTY, GIFTCARDS, requires


def _read(path, fmt="auto", interactions=None, **options):
    source = c.resolve_source(path, fmt, interactions)
    return c.load_products(source, c.IngestOptions(**options))


def _normalise(path, fmt="auto", column_map=None, level=2):
    read = _read(path, fmt, column_map=column_map or {}, category_level=level)
    return read.products, read.rejected


def _events(folder, text, known, **options):
    (folder / "products.csv").write_text("product_id,title\n" + "".join(f"{p},Item {p}\n" for p in sorted(known)))
    (folder / "interactions.csv").write_text(text)
    return c.load_interactions(c.resolve_source(folder), set(known), c.IngestOptions(**options))


def _flags(read, field):
    return read.decisions[(read.decisions["field"] == field) & (read.decisions["decision"] == "nulled")]


def test_demo_layout_reads_products_and_quarantines_the_broken_rows():
    products, rejected = _normalise(DEMO_DIR)
    assert len(products) >= 120
    assert products["category"].nunique() >= 6
    assert products["product_id"].is_unique
    reasons = set(rejected["reason"].str.split(" \\(").str[0])
    assert reasons == {"missing product_id", "empty title", "title is markup", "duplicate product_id"}


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
    with pytest.raises(c.CatalogError, match=r"'product_id'.*shop\.csv.*PKG_CATALOG_COLUMNS"):
        _normalise(path)
    with pytest.raises(c.CatalogError, match=r"'brand' \(mapped from 'maker'\).*shop\.csv"):
        _normalise(path, column_map={"product_id": "sku", "brand": "maker"})


@pytest.mark.parametrize("row, reason", [
    ({"product_id": "", "title": "Mug"}, "missing product_id"),
    ({"product_id": "P9", "title": "  "}, "empty title"),
    ({"product_id": "P9", "title": "\u200b\u200d\ufeff"}, "empty title (only invisible characters)"),
    ({"product_id": "P9", "title": '<span class="a-size-medium a-color-secondary"'}, "title is markup"),
    ({"product_id": "P9", "title": ".a-box-inner{background-color:#fff}"}, "title is scraped code (CSS or script)"),
    ({"product_id": "P1", "title": "Second"}, "duplicate product_id (first seen at row 1)"),
])
def test_bad_rows_are_quarantined_with_their_reason_and_line(tmp_path, row, reason):
    path = tmp_path / "shop.csv"
    pd.DataFrame([{"product_id": "P1", "title": "First", "price": "3"}, row]).to_csv(path, index=False)
    products, rejected = _normalise(path)
    assert list(products["product_id"]) == ["P1"]
    assert list(rejected["reason"]) == [reason]
    assert list(rejected["source_row"]) == [2] and list(rejected["source_line"]) == [3]
    assert json.loads(rejected.iloc[0]["raw"])["title"] == row["title"]  # the row as read, for the record


def test_junk_optional_fields_are_nulled_and_flagged_and_the_product_is_kept(tmp_path):
    path = tmp_path / "products.jsonl"
    rows = [
        {"product_id": "P1", "title": "Kettle", "price": ".a-box-inner{background-color:#fff}"},
        {"product_id": "P2", "title": "Mug", "price": "9" * 400},
        {"product_id": "P3", "title": "Cup", "price": True},
        {"product_id": "P4", "title": "Pot", "price": -3},
        {"product_id": "P5", "title": "Pan", "price": "$10.00 - $25.00", "brand": "<br/>"},
        {"product_id": "P6", "title": "Jug", "price": "$12.99", "brand": "Acme"},
        {"product_id": "P7", "title": "Tin", "price": 4.5},
        {"product_id": "P8", "title": "Box", "price": "7"},
        {"product_id": "P9", "title": "Bag", "price": "1,299.00"},
        {"product_id": "P10", "title": "Bin", "price": "€ 3"},
        {"product_id": "P11", "title": "Lid", "price": 2},
        *({"product_id": f"Q{i}", "title": f"Spoon {i}", "price": "1.50"} for i in range(3)),
    ]
    lines = [json.dumps(r) for r in rows] + [
        '{"product_id": "P12", "title": "Tray", "price": 1e309}',       # JSON's overflow: inf
        '{"product_id": "P13", "title": "Rack", "price": Infinity}',    # Python's json accepts it
    ]
    path.write_text("\n".join(lines) + "\n")
    read = _read(path)
    assert read.rejected.empty and len(read.products) == 16  # every product kept
    price = read.products.set_index("product_id")["price"]
    assert price[["P6", "P7", "P8", "P9", "P10", "P11"]].tolist() == [12.99, 4.5, 7.0, 1299.0, 3.0, 2.0]
    nulled = ["P1", "P2", "P3", "P4", "P5", "P12", "P13"]
    assert price[nulled].isna().all()
    flags = read.products.set_index("product_id")["parse_flags"]
    assert flags["P1"].startswith("price: not a number ('.a-box-inner")
    assert flags["P2"].startswith("price: out of range") and flags["P13"].startswith("price: out of range")
    assert flags["P3"] == "price: not a number (True)"
    assert flags["P5"].startswith("price: a price range") and "brand: markup only" in flags["P5"]
    assert flags[["P6", "P7"]].isna().all()
    assert len(_flags(read, "price")) == 7 and len(_flags(read, "brand")) == 1
    # The prompt's JSON never sees a non-finite number.
    assert all(pd.isna(p) or p == p and abs(p) < 1e7 for p in read.products["price"])


def test_a_column_that_parses_to_mostly_null_names_the_column_the_file_and_a_sample(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("product_id,title,cost\nP1,Mug,12 EUR per box\nP2,Cup,call us\nP3,Pot,4\n")
    with pytest.raises(c.CatalogError, match=r"column 'cost' of .*shop\.csv: 2 of 3 values .*'12 EUR per box'"):
        _read(path, column_map={"price": "cost"})


def test_markup_is_stripped_from_titles_and_descriptions_and_counted(tmp_path):
    path = tmp_path / "products.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"product_id": "P1", "title": "Gift <b>Card</b> &amp;amp; Box", "description": "<i>Lovely</i><br/>card"},
        {"product_id": "P2", "title": "Ｆｕｌｌ width\u200b Mug", "description": "I <3 NY, size <5 oz"},
        {"product_id": "P3", "title": '<span class="a-size-medium a-color-secondary"', "description": ""},
    ]) + "\n")
    read = _read(path)
    rows = read.products.set_index("product_id")
    assert rows.loc["P1", "title"] == "Gift Card & Box" and rows.loc["P1", "description"] == "Lovely card"
    assert rows.loc["P2", "title"] == "Full width Mug"
    assert rows.loc["P2", "description"] == "I <3 NY, size <5 oz"  # text that merely has a "<" is left alone
    assert list(read.rejected["reason"]) == ["title is markup"]
    cleaned = read.decisions[read.decisions["decision"] == "cleaned"]
    assert sorted(cleaned["field"] + ":" + cleaned["detail"]) == [
        "description:markup", "title:entities + markup", "title:spaces or invisible characters"]


def test_ids_are_keys_kept_byte_exact(tmp_path):
    path = tmp_path / "products.csv"
    path.write_text('product_id,title\nA&amp;B,First\nA&B,Second\n" P1",Third\nP1,Fourth\n')
    read = _read(path)
    assert read.rejected.empty
    assert sorted(read.products["product_id"]) == [" P1", "A&B", "A&amp;B", "P1"]
    kept_exact = read.decisions[read.decisions["decision"] == "kept byte-exact"]
    assert len(kept_exact) == 2  # "A&amp;B" and " P1" differ from their display form, and are counted
    events = _events(tmp_path, "user_id,product_id,position\nu1,A&amp;B,0\nu1,A&B,1\nu2, P1,0\n",
                     {"A&amp;B", "A&B", " P1", "P1"})
    assert events.kept["product_id"].tolist() == ["A&amp;B", "A&B", " P1"]


def test_categories_as_lists_lists_of_lists_literals_and_one_string(tmp_path):
    path = tmp_path / "products.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"product_id": "P1", "title": "A", "category_path": ["Electronics", "Cameras", "Lenses"]},
        {"product_id": "P2", "title": "B", "category_path": [["Electronics", "Audio"], ["Sale", "Deals"]]},
        {"product_id": "P3", "title": "C", "category_path": "[['Electronics', 'Phones'], ['Gifts']]"},
        {"product_id": "P4", "title": "D", "category_path": "Beauty"},
        {"product_id": "P5", "title": "E", "category_path": "Home / Kitchen &amp; Dining"},
    ]) + "\n")
    products = _read(path, category_sep="/").products.set_index("product_id")
    assert products["category"].tolist() == ["Cameras", "Audio", "Phones", "Beauty", "Kitchen & Dining"]
    assert products.loc["P2", "category_path"] == "Electronics > Audio"
    amazon = tmp_path / "meta.json"
    amazon.write_text(json.dumps({"asin": "B1", "title": "Serum", "category": "Beauty"}) + "\n")
    assert _read(amazon).products.iloc[0]["category_path"] == "Beauty"  # not "B > e > a > u > t > y"


def test_more_categories_than_allowed_is_refused_with_the_count_and_a_level(tmp_path):
    path = tmp_path / "products.csv"
    rows = [f"P{i},Item {i},Dept {i % 3} > Shelf {i}" for i in range(30)]
    path.write_text("product_id,title,category_path\n" + "\n".join(rows) + "\n")
    with pytest.raises(c.CatalogError, match=r"30 categories at level 2.*PKG_MAX_CATEGORIES=10.*"
                                             r"PKG_CATEGORY_LEVEL=1 gives 3"):
        _read(path, max_categories=10)
    assert _read(path, max_categories=10, category_level=1).products["category"].nunique() == 3


def test_a_header_less_pipe_separated_latin1_file(tmp_path):
    path = tmp_path / "legacy.txt"
    path.write_bytes("P1|Crème brûlée torch|Kitchen > Tools\nP2|Café au lait bowl|Kitchen > Tableware\n"
                     .encode("latin-1"))
    with pytest.raises(c.CatalogError, match=r"legacy\.txt: byte offset 5 \(line 1\) is not valid utf-8.*"
                                             r"PKG_CATALOG_ENCODING"):
        _read(path)
    with pytest.raises(c.CatalogError, match=r"looks like data, not a header: set PKG_CATALOG_NAMES"):
        _read(path, products=ReaderOptions(encoding="latin-1"))
    read = _read(path, products=ReaderOptions(encoding="latin-1", names=("product_id", "title", "category_path")),
                 category_level=1)
    assert read.products["title"].tolist() == ["Crème brûlée torch", "Café au lait bowl"]
    assert read.facts["separator"] == "'|' (detected)"
    explicit = _read(path, products=ReaderOptions(sep="|", encoding="latin-1",
                                                  names=("product_id", "title", "category_path")))
    assert explicit.facts["separator"] == "'|' (set)" and len(explicit.products) == 2


def test_a_wrong_separator_is_named(tmp_path):
    path = tmp_path / "shop.csv"
    path.write_text("product_id;title\nP1;Mug\n")
    with pytest.raises(c.CatalogError, match=r"separator.*';'.*PKG_CATALOG_SEP"):
        _read(path, products=ReaderOptions(sep=","))


def test_bad_json_lines_are_quarantined_one_by_one_with_their_line(tmp_path):
    path = tmp_path / "products.jsonl"
    deep = '{"product_id": "P9", "title": "x", "extra": ' + "[" * 100_000 + "]" * 100_000 + "}"
    lines = [
        json.dumps({"product_id": "P1", "title": "Kettle"}),
        '{"product_id": "P2", "title": "Mug"',        # cut short
        '["P3", "Cup"]',                               # a list
        '"just text"',                                 # a string
        "42",                                          # a number
        deep,                                          # nested past the parser
        json.dumps({"product_id": "P4", "title": "Pot", "x": [[[[[[[[[[[[1]]]]]]]]]]]] * 1}),
        "",
        json.dumps({"product_id": "P5", "title": "Pan"}),
        *(json.dumps({"product_id": f"Q{i}", "title": f"Spoon {i}"}) for i in range(3)),
    ]
    path.write_text("\n".join(lines) + "\n")
    read = _read(path)
    assert read.products["product_id"].tolist() == ["P1", "P4", "P5", "Q0", "Q1", "Q2"]
    bad = read.rejected.set_index("source_line")
    assert sorted(bad.index) == [2, 3, 4, 5, 6]
    assert bad.loc[2, "reason"].startswith("not JSON")
    assert bad.loc[3, "reason"] == "a JSON list on the line, not an object"
    assert bad.loc[4, "reason"] == "a JSON string on the line, not an object"
    assert bad.loc[5, "reason"] == "a JSON number on the line, not an object"
    assert bad.loc[6, "reason"] in {"nested deeper than the parser allows", "nested deeper than 64 levels"}
    assert (read.rejected["category"] == c.UNREADABLE_LINES).all()
    assert bad.loc[3, "raw"] == '["P3", "Cup"]' and (read.rejected["source_file"] == str(path)).all()


def test_a_file_that_is_mostly_unreadable_lines_is_an_error(tmp_path):
    path = tmp_path / "products.jsonl"
    path.write_text('{"product_id": "P1", "title": "Kettle"}\nproduct_id,title\nP2,Mug\n')
    with pytest.raises(c.CatalogError, match=r"2 of 3 lines cannot be read \(line 2: not JSON"):
        _read(path)


def test_a_truncated_gzip_reads_what_it_holds_and_quarantines_the_tail(tmp_path):
    whole = "\n".join(json.dumps({"asin": f"B{i:03d}", "title": f"Card {i}", "category": ["Gift Cards", "Cards"]})
                      for i in range(400)) + "\n"
    data = gzip.compress(whole.encode())
    path = tmp_path / "meta.json.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    read = _read(path)
    assert 100 < len(read.products) < 400
    assert read.products["product_id"].tolist() == [f"B{i:03d}" for i in range(len(read.products))]
    assert read.facts["truncated"] is True
    tail = read.rejected.iloc[-1]
    assert tail["reason"].startswith("truncated file: the compressed stream ends early")
    assert tail["source_line"] == len(read.products) + 1
    assert whole.split("\n")[len(read.products)].startswith(tail["raw"])  # the cut-off line, kept as read


def test_unix_seconds_and_milliseconds_are_detected_and_order_each_history(tmp_path):
    # File order is the reverse of time: the readers must order by the timestamps.
    seconds = _events(tmp_path, "user_id,product_id,ts\nu1,P2,1500000500\nu1,P1,1500000000\n", {"P1", "P2"})
    assert seconds.facts["ts"] == "Unix seconds (detected)"
    assert seconds.kept.sort_values("position")["product_id"].tolist() == ["P1", "P2"]
    assert str(seconds.kept["ts"].min()) == "2017-07-14 02:40:00"
    millis = _events(tmp_path, "user_id,product_id,ts\nu1,P2,1500000500000\nu1,P1,1500000000000\n", {"P1", "P2"})
    assert millis.facts["ts"] == "Unix milliseconds (detected)"
    assert millis.kept.sort_values("position")["product_id"].tolist() == ["P1", "P2"]
    iso = _events(tmp_path, "user_id,product_id,ts\nu1,P2,2020-01-02T10:00:00Z\nu1,P1,2020-01-01\n", {"P1", "P2"})
    assert iso.facts["ts"] == "ISO 8601 (detected)"
    assert iso.kept.sort_values("position")["product_id"].tolist() == ["P1", "P2"]


def test_an_unreadable_timestamp_is_nulled_and_flagged_and_a_mostly_unreadable_column_is_an_error(tmp_path):
    some = _events(tmp_path, "user_id,product_id,ts\nu1,P1,1500000000\nu1,P2,1500000100\nu1,P3,soon\n",
                   {"P1", "P2", "P3"})
    assert len(some.kept) == 3 and some.rejected.empty
    assert some.kept.set_index("product_id").loc["P3", "parse_flags"] == "ts: unreadable timestamp ('soon')"
    assert some.decisions.to_dict("records") == [{"field": "ts", "decision": "nulled",
                                                  "detail": "unreadable timestamp ('soon')"}]
    with pytest.raises(c.CatalogError, match=r"column 'ts' of .*interactions\.csv: 2 of 2 values .*'06 17, 2018'"):
        _events(tmp_path, 'user_id,product_id,ts\nu1,P1,"06 17, 2018"\nu1,P2,"06 18, 2018"\n', {"P1", "P2"})
    custom = _events(tmp_path, 'user_id,product_id,ts\nu1,P2,"06 18, 2018"\nu1,P1,"06 17, 2018"\n', {"P1", "P2"},
                     ts_format="%m %d, %Y")
    assert custom.kept.sort_values("position")["product_id"].tolist() == ["P1", "P2"]


def test_positions_are_integers_in_range_or_quarantined(tmp_path):
    read = _events(tmp_path, "user_id,product_id,position\nu1,P1,0\nu1,P2,3.0\nu2,P1,1e30\nu2,P2,x\nu3,P1,-9223372036854775809\n"
                   "u4,P1,0\nu4,P2,1\n",
                   {"P1", "P2"})
    assert read.kept["position"].tolist() == [0, 3, 0, 1]
    assert read.rejected["reason"].tolist() == ["position out of range", "unparsable position", "position out of range"]
    assert json.loads(read.rejected.iloc[0]["raw"])["position"] == "1e30"


def test_interactions_column_mapping_and_header_less_files(tmp_path):
    (tmp_path / "products.csv").write_text("product_id,title\nP1,Mug\nP2,Cup\n")
    ratings = tmp_path / "ratings.dat"
    ratings.write_text("7::P2::5::978300760\n7::P1::3::978300000\n")
    source = c.resolve_source(tmp_path, interactions_path=ratings)
    with pytest.raises(c.CatalogError, match="PKG_INTERACTIONS_SEP must be one character"):
        c.load_interactions(source, {"P1", "P2"}, c.IngestOptions(interactions=ReaderOptions(sep="::")))
    ratings.write_text("7|P2|5|978300760\n7|P1|3|978300000\n")
    read = c.load_interactions(source, {"P1", "P2"}, c.IngestOptions(
        interactions=ReaderOptions(names=("uid", "item", "rating", "when")),
        interaction_column_map={"user_id": "uid", "product_id": "item", "ts": "when"}))
    assert read.kept.sort_values("position")["product_id"].tolist() == ["P1", "P2"]
    assert read.facts["ts"] == "Unix seconds (detected)"


def test_interactions_quarantine_missing_user_and_unknown_product(tmp_path):
    read = _events(tmp_path, "user_id,product_id,position\nU1,P1,0\n,P1,1\nU2,P7,0\nU3,P1,x\n", {"P1"})
    assert len(read.kept) == 1
    assert sorted(read.rejected["reason"]) == ["missing user_id", "product not in catalog", "unparsable position"]
    assert sorted(read.rejected["source_line"]) == [3, 4, 5]


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
        json.dumps({"asin": "G3", "title": "Box", "price": "$5.00", "category": ["Gift Cards"]}),
    ])
    reviews = tmp_path / "Gift_Cards_5.json.gz"
    _write_gz(reviews, [
        json.dumps({"reviewerID": "U1", "asin": "G1", "unixReviewTime": 1500000000}),
        json.dumps({"reviewerID": "U1", "asin": "G9", "unixReviewTime": 1400000000}),
        json.dumps({"reviewerID": "U1", "asin": "G2", "unixReviewTime": 1300000000}),
    ])
    source = c.resolve_source(meta, interactions_path=reviews)
    read = c.load_products(source)
    assert read.products.iloc[0][["price", "category", "description"]].tolist() == [25.0, "Restaurants", "Nice card"]
    assert read.rejected.empty and pd.isna(read.products.iloc[1]["price"])  # junk price: nulled, product kept
    assert read.products.iloc[1]["parse_flags"].startswith("price: markup only")
    events = c.load_interactions(source, set(read.products["product_id"]))
    assert events.kept.sort_values("position")["product_id"].tolist() == ["G2", "G1"]  # ordered by time
    assert list(events.rejected["reason"]) == ["product not in catalog"]
    assert events.facts["ts"] == "Unix seconds (detected)"


@requires(BEAUTY)
def test_amazon_beauty_layout():
    source = c.resolve_source(BEAUTY)
    read = c.load_products(source)
    products, rejected = read.products, read.rejected
    assert len(products) + len(rejected) == 12084
    assert set(rejected["reason"]) <= {"empty title"}
    assert not products["title"].str.contains("&amp;|&#39;").any()
    assert products["category"].value_counts().to_dict()["Skin Care"] > 3000
    events = c.load_interactions(source, set(products["product_id"]))
    assert len(events.kept) + len(events.rejected) == 198300  # nothing lost: events of untitled products are quarantined
    assert set(events.rejected["reason"]) == {"product not in catalog"}


@requires(GIFTCARDS)
def test_amazon_giftcards_metadata():
    source = c.resolve_source(GIFTCARDS / "meta_Gift_Cards.json.gz", interactions_path=GIFTCARDS / "Gift_Cards_5.json.gz")
    read = c.load_products(source)
    assert len(read.products) + len(read.rejected) == 1547
    assert len(read.products) > 1500
    assert not read.products["description"].str.contains("<div|<br", regex=True).any()
    assert read.products["price"].dropna().between(0, 1e6).all()
    events = c.load_interactions(source, set(read.products["product_id"]))
    assert len(events.kept) + len(events.rejected) == 2972 and events.facts["ts"] == "Unix seconds (detected)"
