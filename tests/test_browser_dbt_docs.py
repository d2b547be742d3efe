"""The dbt docs site as a person browses it: generated from the shared built data set into a
temporary target, served over http, opened in headless Chromium after its scripts have run.

What the site should list is read from the project's files (models/marts/**/*.sql, the models'
yml, the refs in the SQL), not from the manifest the site renders."""

from __future__ import annotations

import functools
import http.server
import re
import subprocess
import threading
from collections.abc import Iterator

import pytest
import yaml
from playwright.sync_api import expect

from orchestration.dbt.project import dbt_env, dbt_executable
from orchestration.paths import PROJECT_ROOT

MARTS = PROJECT_ROOT / "models" / "marts"
REF = re.compile(r"""\{\{\s*ref\(\s*['"](\w+)['"]\s*\)\s*\}\}""")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


@pytest.fixture(scope="module")
def docs_site(built, tmp_path_factory) -> Iterator[str]:
    """``dbt docs generate`` (as ``make docs`` runs it) into a temporary target, served on a free
    port; yields the site's address."""
    out = tmp_path_factory.mktemp("dbt-docs")
    target = out / "target"
    command = [
        dbt_executable(),
        "docs",
        "generate",
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROJECT_ROOT),
        "--target-path",
        str(target),
        "--log-path",
        str(out / "logs"),
        "--quiet",
    ]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, env=dbt_env(), capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"dbt docs generate failed:\n{done.stdout}\n{done.stderr}"
    assert (target / "index.html").is_file() and (target / "catalog.json").is_file()

    handler = functools.partial(_QuietHandler, directory=str(target))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def _mart_models() -> list[str]:
    return sorted(path.stem for path in MARTS.rglob("*.sql"))


def _column_description(model: str, column: str) -> str:
    for path in MARTS.rglob("_*__models.yml"):
        for entry in yaml.safe_load(path.read_text()).get("models", []):
            if entry["name"] == model:
                for col in entry.get("columns", []):
                    if col["name"] == column:
                        return col["description"]
    raise AssertionError(f"no column {model}.{column} in models/marts/**/_*__models.yml")


def _models_referencing(model: str) -> list[str]:
    sql_files = (PROJECT_ROOT / "models").rglob("*.sql")
    return sorted(path.stem for path in sql_files if model in REF.findall(path.read_text()))


def test_the_database_tab_lists_every_mart(docs_site, browser_page, screenshots):
    marts = _mart_models()
    assert "fct_llm_calls" in marts and len(marts) >= 10

    page = browser_page
    page.goto(docs_site)
    page.locator(".switch-label", has_text="Database").click()
    menu = page.locator("div.menu div.menu:visible")  # the tab's tree
    menu.get_by_text("warehouse", exact=True).click()
    menu.get_by_text("marts", exact=True).click()
    for mart in marts:
        # an entry's name is drawn in two spans (for the ellipsis); its title is the whole name
        expect(menu.locator(f'a.menu-node[title="{mart}"]')).to_be_visible()
    screenshots.save(page, "dbt-docs-marts")


def test_a_model_page_shows_a_column_description_and_what_reads_the_model(
    docs_site, browser_page, screenshots
):
    description = _column_description("fct_llm_calls", "cost_usd")
    readers = _models_referencing("fct_llm_calls")
    assert description and readers

    page = browser_page
    page.goto(f"{docs_site}#!/model/model.llm_margin.fct_llm_calls")
    expect(page.get_by_role("heading", name=re.compile("^fct_llm_calls"))).to_be_visible()
    # The columns table cuts descriptions short; a person clicks the row for the whole text.
    page.locator("tr.column-row", has=page.get_by_text("cost_usd", exact=True)).click()
    shown = page.get_by_text(description, exact=True).filter(visible=True)
    expect(shown).to_have_count(1)
    shown.scroll_into_view_if_needed()
    referenced_by = page.locator("section", has=page.get_by_text("Referenced By", exact=True))
    for reader in readers:
        expect(referenced_by.get_by_role("link", name=reader, exact=True)).to_be_visible()
    screenshots.save(page, "dbt-docs-fct_llm_calls")
