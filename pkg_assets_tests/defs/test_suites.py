"""Every expectation in every suite, made to fail on the real demo tables.

For each expectation, the demo table it guards (which passes its suite) is corrupted in
the way that expectation exists to catch -- a null, a value outside the vocabulary, a
duplicate edge, a confidence above 1, a self-loop, a row count out of bounds -- and the
suite must then fail *that* expectation, as a blocking failure when it is critical
(`test_pipeline` shows a blocking failure stops downstream assets). A new expectation
type without a corruption here fails the test, so the suites cannot outgrow it.
"""

from pkg_assets.resources.warehouse import open_folder_warehouse
import pandas as pd
import pytest

from pkg_assets import settings
from pkg_assets.core.quality import load_suite_json, run_suite
from pkg_assets.defs.validation import checks

LOADERS = {
    "llm_relations": (checks._load_llm_relations, "Flowers & Gifts"),
    "resolved_relations": (checks._load_resolved, "Flowers & Gifts"),
    "validated_relations": (checks._load_gate_output, "Flowers & Gifts"),
    "pkg_edges": (checks._load_pkg_edges, None),
}
SUITES = sorted(p.stem for p in settings.expectations_dir().glob("*.json"))


def _value(kwarg, parameters):
    return parameters[kwarg["$PARAMETER"]] if isinstance(kwarg, dict) and "$PARAMETER" in kwarg else kwarg


def corrupt(frame: pd.DataFrame, expectation: dict, parameters: dict) -> pd.DataFrame:
    """The demo table broken the way `expectation` guards against."""
    kind, kwargs = expectation["type"], expectation["kwargs"]
    frame = frame.copy()
    column = kwargs.get("column")
    rows = frame.query(kwargs["row_condition"]).index if kwargs.get("row_condition") else frame.index
    assert len(rows), f"the demo table has no row for {expectation}"
    first = rows[:1]
    low, high = _value(kwargs.get("min_value"), parameters), _value(kwargs.get("max_value"), parameters)
    if kind == "expect_column_to_exist":
        return frame.drop(columns=[column])
    if kind == "expect_column_values_to_be_null":  # `unknown_<id column>`: an id the catalog lacks
        frame[column] = frame[column].astype(object)
        frame.loc[first, column] = "__not_in_the_catalog__"
        return frame
    if kind == "expect_column_values_to_not_be_null":
        frame[column] = frame[column].astype(object)
        frame.loc[first, column] = None
    elif kind == "expect_column_values_to_be_in_set":
        allowed = _value(kwargs["value_set"], parameters)
        frame[column] = frame[column].astype(object)
        frame.loc[first, column] = (not allowed[0]) if isinstance(allowed[0], bool) else "__not_in_the_set__"
    elif kind == "expect_column_values_to_match_regex":
        frame.loc[first, column] = "!!"
    elif kind == "expect_column_values_to_be_between":
        frame.loc[first, column] = high + 1 if high is not None else low - 1
    elif kind == "expect_column_value_lengths_to_be_between":
        frame.loc[first, column] = "" if low else "x" * (high + 1)
    elif kind == "expect_column_mean_to_be_between":
        frame[column] = frame[column].astype(float)
        frame.loc[rows, column] = 0.0 if low else high + 1
    elif kind == "expect_compound_columns_to_be_unique":
        return pd.concat([frame, frame.loc[first]], ignore_index=True)
    elif kind == "expect_table_row_count_to_be_between":
        return frame.iloc[:0] if low else pd.concat([frame] * (high // max(1, len(frame)) + 2), ignore_index=True)
    else:
        pytest.fail(f"no corruption for {kind}: add one so the suites stay tested")
    return frame


def test_id_checks_name_the_ids_the_catalog_lacks():
    """The loaders' anti-joins: a head, tail, source or target id missing from the catalog (or
    from pkg_nodes) is put in `unknown_<column>`, a known one leaves it null, and the suite fails."""
    import duckdb

    conn = duckdb.connect()
    conn.execute("CREATE TABLE products AS SELECT * FROM (VALUES ('P1'), ('P2')) t(product_id)")
    conn.execute("CREATE TABLE pkg_nodes AS SELECT * FROM (VALUES ('P1'), ('P2'), ('concept:x')) t(node_id)")
    conn.execute("CREATE TABLE resolved_relations AS SELECT * FROM (VALUES "
                 "('C', 'P1', 'product', 'P2'), ('C', 'P1', 'product', 'GHOST'), ('C', 'P2', 'concept', 'concept:x'))"
                 " t(category, head_id, decision, tail_id)")
    conn.execute("CREATE TABLE pkg_edges AS SELECT * FROM (VALUES ('P1', 'P2'), ('GHOST', 'concept:x'), "
                 "('P2', 'concept:y')) t(src_id, dst_id)")
    resolved, _ = checks._load_resolved(conn, "C")
    assert resolved["unknown_tail_id"].isna().tolist()[:2] == [True, False]
    assert resolved["unknown_tail_id"][1] == "GHOST"
    edges, _ = checks._load_pkg_edges(conn, None)
    assert edges["unknown_src_id"].fillna("").tolist() == ["", "GHOST", ""]
    assert edges["unknown_dst_id"].fillna("").tolist() == ["", "", "concept:y"]
    failed = [o for o in run_suite(settings.expectations_dir() / "resolved_relations.json", resolved, {}).outcomes
              if not o.success and o.column == "unknown_tail_id"]
    assert [(o.unexpected_count, o.blocking) for o in failed] == [(1, True)]
    assert "GHOST" in failed[0].observed


def test_every_suite_has_a_loader():
    assert set(SUITES) == set(LOADERS)


@pytest.mark.parametrize("suite", SUITES)
def test_each_expectation_fails_on_the_data_it_guards_against(demo_run, suite):
    load, partition = LOADERS[suite]
    with open_folder_warehouse(demo_run.data) as conn:
        frame, parameters = load(conn, partition)
    path = settings.expectations_dir() / f"{suite}.json"
    assert run_suite(path, frame, parameters).success, f"{suite} fails on the demo itself"
    for expectation in load_suite_json(path)["expectations"]:
        outcome = run_suite(path, corrupt(frame, expectation, parameters), parameters)
        column = expectation["kwargs"].get("column") or ",".join(expectation["kwargs"].get("column_list", []))
        failed = [o for o in outcome.outcomes if not o.success
                  and o.expectation == expectation["type"] and (o.column or "") == column]
        assert failed, f"{suite}: corrupting for {expectation} did not fail it"
        if expectation.get("severity", "critical") == "critical":
            assert any(o.blocking for o in failed)
