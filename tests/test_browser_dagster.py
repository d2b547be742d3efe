"""The Dagster UI as a person opens it (`make dagster`): dagster-webserver on the shared built data
set's instance, pages rendered in headless Chromium.

Expected lineage is read from the refs in the dbt SQL, the expected check result from the
warehouse itself; the groups from the code location's Definitions (the UI must draw what the code
defines, whatever the groups are named)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from headless_chromium import free_port, wait_for_http
from playwright.sync_api import expect

from orchestration.paths import DATA_DIR_ENV, PROJECT_ROOT

REF = re.compile(r"""\{\{\s*ref\(\s*['"](\w+)['"]\s*\)\s*\}\}""")


@pytest.fixture(scope="module")
def dagster_ui(built, tmp_path_factory) -> Iterator[str]:
    """dagster-webserver (as `make dagster` serves it, without the daemon: nothing runs) on the
    built data set's instance, on a free port; yields its address."""
    log = tmp_path_factory.mktemp("dagster-webserver") / "webserver.log"
    port = free_port()
    env = {
        **os.environ,
        DATA_DIR_ENV: str(built.root),
        "DAGSTER_HOME": str(built.dagster_home),
    }
    command = [
        str(Path(sys.executable).parent / "dagster-webserver"),
        *("-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(port)),
    ]
    with log.open("w") as out:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the code server it starts ends too
        )
    try:
        address = f"http://127.0.0.1:{port}"
        wait_for_http(f"{address}/server_info", process, log)
        yield address
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def dagster_page(browser_page):
    """A page that skips Dagster's "Join the Dagster community" pop-up whenever it shows (once per
    instance), as a person would: it covers the page."""
    browser_page.add_locator_handler(
        browser_page.get_by_role("button", name="Skip", exact=True),
        lambda skip: skip.click(),
    )
    return browser_page


def _refs(model: str) -> set[str]:
    (path,) = (PROJECT_ROOT / "models").rglob(f"{model}.sql")
    return set(REF.findall(path.read_text()))


def test_the_global_lineage_draws_every_asset_group(dagster_ui, dagster_page, screenshots):
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert len(groups) >= 5

    page = dagster_page
    page.goto(f"{dagster_ui}/asset-groups")
    expect(page.get_by_text("Global asset lineage")).to_be_visible()
    drawing = page.locator("svg")
    for group in sorted(groups):
        expect(drawing.get_by_text(group, exact=True)).to_be_visible()
    screenshots.save(page, "dagster-global-lineage")


def test_an_asset_lineage_draws_its_upstream_models(dagster_ui, dagster_page, screenshots):
    upstream = _refs("fct_llm_calls")
    assert {"stg_usage__events", "int_llm_calls_priced"} <= upstream

    page = dagster_page
    page.goto(f"{dagster_ui}/assets/marts/fct_llm_calls?view=lineage&lineageScope=upstream")
    drawing = page.locator("svg")
    shown = sorted(upstream | {"fct_llm_calls"})
    for name in shown:
        expect(drawing.get_by_text(name, exact=True)).to_be_visible()
    # each node, once its state has loaded, says the shared build materialized it
    expect(drawing.get_by_text(re.compile(r"^Loading"))).to_have_count(0)
    expect(drawing.get_by_text("Materialized", exact=True)).to_have_count(len(shown))
    screenshots.save(page, "dagster-fct_llm_calls-upstream")


def test_an_asset_shows_a_passed_check(built, dagster_ui, dagster_page, screenshots):
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        calls, distinct = con.execute(
            "select count(*), count(distinct event_id) from marts.fct_llm_calls"
        ).fetchone()
    assert calls > 0 and calls == distinct  # so the uniqueness check must have passed
    check = "unique_fct_llm_calls_event_id"  # dbt's name for `unique` on fct_llm_calls.event_id

    page = dagster_page
    page.goto(f"{dagster_ui}/assets/marts/fct_llm_calls?view=checks")
    page.get_by_text(check, exact=True).first.click()
    # the check's own panel: its dbt test id, then its latest evaluation
    expect(page.get_by_text(re.compile(rf"^test\.llm_margin\.{check}\."))).to_be_visible()
    expect(page.get_by_text("Evaluation result", exact=True)).to_be_visible()
    expect(page.get_by_text("Passed", exact=True)).to_be_visible()
    screenshots.save(page, "dagster-fct_llm_calls-check")
