"""The Dagster UI checked in a real browser: the webserver on the materialised demo, read by
headless Chromium (Debian's `chromium`, driven by Playwright). What a user must see: every
asset group in the asset graph; `validated_relations` with its metadata (tables and charts);
its checks with their results. Screenshots are saved (PKG_UI_SCREENSHOTS, default
`.ui_screenshots/`, git-ignored). Skips where Chromium or Playwright is absent; `.ci/run`
installs Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pkg_assets_tests.conftest import PROJECT_DIR, free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None

pytestmark = pytest.mark.skipif(CHROMIUM is None or sync_playwright is None,
                                reason="needs Debian's chromium and playwright (.ci/run installs them)")

GROUPS = ["catalog", "extraction", "resolution", "validation", "collective", "behavior", "graph", "evaluation",
          "personalization"]
SCREENSHOTS = Path(os.environ.get("PKG_UI_SCREENSHOTS") or PROJECT_DIR / ".ui_screenshots")
TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def webserver(demo_run, tmp_path_factory):
    """`dagster-webserver` on the demo's instance and warehouse (no daemon: nothing runs)."""
    port = free_port()
    log = tmp_path_factory.mktemp("webserver") / "webserver.log"
    env = {**os.environ, **demo_run.env, "DAGSTER_HOME": str(demo_run.dagster_home)}
    # workspace.yaml names the code location as `dg dev` does (pkg_assets)
    command = [str(Path(sys.executable).parent / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port),
               "-w", str(PROJECT_DIR / "workspace.yaml")]
    with open(log, "w") as out:
        process = subprocess.Popen(command, env=env, cwd=PROJECT_DIR, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 180
        while True:
            try:
                if httpx.get(f"{url}/server_info", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.time() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def page(webserver):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    expect.set_options(timeout=TIMEOUT_MS)  # a loaded CI machine renders slowly; 5 s is the default
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        yield page
        browser.close()


def open_page(page, url: str) -> None:
    page.goto(url)
    # Dagster's first-visit "Join the community" dialog covers the page once per instance.
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=5_000)
        skip.click()
    except Exception:  # noqa: BLE001 - not shown (already dismissed): nothing to do
        pass


def show_chart(page, key: str, alt: str, screenshot: str) -> None:
    """Open a chart's markdown from its metadata row; the PNG must load (natural size > 0)."""
    page.locator("tr", has_text=key).first.get_by_text("[Show Markdown]").click()
    image = page.get_by_role("img", name=alt)
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") > 100
    page.screenshot(path=SCREENSHOTS / screenshot)
    page.get_by_role("button", name="Close").last.click()
    expect(image).to_have_count(0)  # closed (its exit animation done) before the next one opens


def test_the_asset_graph_shows_every_group(page, webserver):
    open_page(page, f"{webserver}/asset-groups")
    try:
        for group in GROUPS:
            expect(page.get_by_text(group, exact=True).first).to_be_visible()
    finally:
        page.screenshot(path=SCREENSHOTS / "asset_graph.png", full_page=True)


def test_the_gate_asset_page_shows_its_metadata_tables_and_charts(page, webserver):
    open_page(page, f"{webserver}/assets/validated_relations")
    try:
        for label in ("acceptance_rate", "gate_config", "accepted_by_relation", "gate_scores",
                      "acceptance_by_relation", "preview"):
            expect(page.get_by_text(label, exact=True).first).to_be_visible()
        # a metadata table: the accepted edges per relation, with its column headers
        table = page.locator("tr", has_text="accepted_by_relation").first
        expect(table.get_by_text("relation", exact=True).first).to_be_visible()
        expect(table.get_by_text("complement", exact=True).first).to_be_visible()
    finally:
        page.screenshot(path=SCREENSHOTS / "validated_relations.png", full_page=True)
    show_chart(page, "gate_scores", "gate score distribution", "validated_relations_gate_scores.png")
    show_chart(page, "acceptance_by_relation", "acceptance by relation", "validated_relations_acceptance.png")


def test_the_gate_checks_show_their_results(page, webserver):
    open_page(page, f"{webserver}/assets/validated_relations?view=checks")
    try:
        expect(page.get_by_text("validated_relations_suite").first).to_be_visible()
        expect(page.get_by_text("Succeeded").first).to_be_visible()
        expect(page.get_by_text("Passed", exact=True).first).to_be_visible()
        expect(page.get_by_text("rows_validated").first).to_be_visible()
    finally:
        page.screenshot(path=SCREENSHOTS / "validated_relations_checks.png", full_page=True)


def test_the_evaluation_page_shows_the_recommenders_side_by_side(page, webserver):
    open_page(page, f"{webserver}/assets/graph_evaluation")
    try:
        for label in ("results", "results_chart", "graph_fused_ndcg10"):
            expect(page.get_by_text(label, exact=True).first).to_be_visible()
    finally:
        page.screenshot(path=SCREENSHOTS / "graph_evaluation.png", full_page=True)
    show_chart(page, "results_chart", "recommenders side by side", "graph_evaluation_chart.png")


def test_runs_made_by_the_cli_appear_in_each_jobs_history(page, webserver):
    """The demo fixture runs the pipeline the way `pkg-demo` does (cli.run_pipeline)."""
    open_page(page, f"{webserver}/locations/pkg_assets/jobs/graph_job/runs")
    try:
        expect(page.get_by_text("Success").first).to_be_visible()
        expect(page.get_by_text("No runs to display")).to_have_count(0)
    finally:
        page.screenshot(path=SCREENSHOTS / "graph_job_runs.png", full_page=True)
