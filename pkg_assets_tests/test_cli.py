"""`pkg-demo` on a user's own catalog: a model that cannot answer fails fast in one line that
says what to set; no model at all still publishes the graph and prints the evaluation."""

import time

from pkg_assets.cli import demo_main
from pkg_assets_tests.conftest import _env
from pkg_assets.fake_llm import FakeLLMServer
from pkg_assets.resources.warehouse import open_folder_warehouse


def _shop(tmp_path):
    catalog = tmp_path / "shop"
    catalog.mkdir()
    (catalog / "products.csv").write_text("product_id,title,category_path\nK1,Kettle,Home > Kitchen\n"
                                          "K2,Mug,Home > Kitchen\nK3,Tea Pot,Home > Kitchen\n")
    events = ["user_id,product_id,position"]
    for user in range(6):
        events += [f"u{user},K{1 + user % 3},0", f"u{user},K{1 + (user + 1) % 3},1", f"u{user},K{1 + (user + 2) % 3},2"]
    (catalog / "interactions.csv").write_text("\n".join(events) + "\n")
    return catalog


def _env_for(tmp_path, **extra):
    return {"PKG_DATA_DIR": str(tmp_path / "data"), "DAGSTER_HOME": str(tmp_path / "home"), **extra}


def test_no_key_fails_before_any_run_in_one_line(tmp_path, capsys):
    catalog = _shop(tmp_path)
    (tmp_path / "home").mkdir()
    started = time.perf_counter()
    with _env(_env_for(tmp_path, PKG_LLM_MODEL="openai/gpt-4o-mini", OPENAI_API_KEY="", PKG_LLM_API_KEY="")):
        code = demo_main(["--catalog", str(catalog)])
    assert code == 1 and time.perf_counter() - started < 30
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("FAILED before any run: openai/gpt-4o-mini needs an API key") and "OPENAI_API_KEY" in last


def test_refused_credentials_stop_the_run_with_the_cause_on_the_last_line(tmp_path, capsys):
    catalog = _shop(tmp_path)
    with FakeLLMServer(p_401=1.0) as server:
        with _env(_env_for(tmp_path, PKG_LLM_MODEL="openai/fake-model", PKG_LLM_API_BASE=server.base_url,
                           OPENAI_API_KEY="sk-wrong-key-000000")):
            code = demo_main(["--catalog", str(catalog), "--ephemeral"])
        sent = server.stats["requests"]
    assert code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert "llm_relations" in err[-1] and "refused the credentials" in err[-1] and "OPENAI_API_KEY" in err[-1]
    assert 1 <= sent <= 8  # the first 401 stopped the batch (of 18): only requests already in flight were sent


def test_without_a_model_the_own_catalog_command_publishes_and_prints_the_evaluation(tmp_path, capsys):
    catalog = _shop(tmp_path)
    with _env(_env_for(tmp_path, PKG_LLM_MODEL="none")):
        code = demo_main(["--catalog", str(catalog), "--ephemeral"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "  catalog_job [Kitchen]: ok in" in out and "rows: products 3" in out
    assert "== evaluation ==" in out and "graph_fused" in out
    assert (tmp_path / "data" / "snapshot" / "pkg.duckdb").exists()


def test_one_catalog_one_warehouse_unless_replaced(tmp_path, capsys):
    first = _shop(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    (other / "products.csv").write_text("product_id,title,category_path\nX1,Lamp,Home > Living\nX2,Rug,Home > Living\n")
    (other / "interactions.csv").write_text("user_id,product_id\nu1,X1\nu1,X2\nu2,X2\nu2,X1\nu3,X1\nu3,X2\n")
    env = _env_for(tmp_path, PKG_LLM_MODEL="none")
    with _env(env):
        assert demo_main(["--catalog", str(first), "--ephemeral"]) == 0
        capsys.readouterr()
        assert demo_main(["--catalog", str(other), "--ephemeral"]) == 1
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert "was built from the catalog" in last and "PKG_DATA_DIR" in last and "DAGSTER_HOME" in last
        assert "--replace" in last
        assert demo_main(["--catalog", str(other), "--ephemeral", "--replace"]) == 0
    with open_folder_warehouse(tmp_path / "data") as conn:
        assert conn.execute("SELECT DISTINCT category FROM products").fetchall() == [("Living",)]
        assert conn.execute("SELECT value FROM warehouse_info").fetchall() == [(str(other.resolve()),)]


def test_a_catalog_with_nothing_to_build_a_graph_from_says_so(tmp_path, capsys):
    lonely = tmp_path / "lonely.csv"
    lonely.write_text("product_id,title,category_path\nX1,Lamp,Home > Living\n")
    with _env(_env_for(tmp_path, PKG_LLM_MODEL="none")):
        assert demo_main(["--catalog", str(lonely), "--ephemeral"]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "nothing to build a graph from" in last and "--interactions" in last and "PKG_LLM_MODEL" in last
