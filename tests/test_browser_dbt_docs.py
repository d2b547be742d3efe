"""The dbt docs site as a person browses it: generated from the shared built data set into a
temporary target, served over http, opened in headless Chromium after its scripts have run.

What the site should show is read from the project's files (models/overview.md, models/marts/**/*.sql,
the models' yml, the refs in the SQL, the folder configs in dbt_project.yml and the owners in
models/_groups.yml), not from the manifest the site renders."""

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

MODELS = PROJECT_ROOT / "models"
MARTS = MODELS / "marts"
REF = re.compile(r"""\{\{\s*ref\(\s*['"](\w+)['"]\s*\)\s*\}\}""")
OVERVIEW = re.compile(r"\{%\s*docs\s+__overview__\s*%\}(.*?)\{%\s*enddocs\s*%\}", re.S)
HEADING = re.compile(r"^#{1,3} (.+)$", re.M)
MODEL_LINK = re.compile(r"\[(\w+)\]\(#!/model/model\.llm_margin\.(\w+)\)")


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


def _overview() -> str:
    for path in MODELS.rglob("*.md"):
        found = OVERVIEW.search(path.read_text())
        if found:
            return found.group(1)
    raise AssertionError("no {% docs __overview__ %} block under models/")


def _owner_and_tags(*folder: str) -> tuple[str, set[str]]:
    """A model folder's owner (its +group's owner in models/_groups.yml) and its tags (every
    +tags from the project down to the folder), from dbt_project.yml."""
    project = yaml.safe_load((PROJECT_ROOT / "dbt_project.yml").read_text())
    config = project["models"][project["name"]]
    group, tags = None, set()
    for name in folder:
        config = config[name]
        group = config.get("+group", group)
        tags |= set(config.get("+tags", []))
    groups = yaml.safe_load((MODELS / "_groups.yml").read_text())["groups"]
    (owner,) = [entry["owner"]["name"] for entry in groups if entry["name"] == group]
    return owner, tags


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


def test_the_site_opens_on_the_overview_and_leads_to_the_main_marts(
    docs_site, browser_page, screenshots
):
    overview = _overview()
    headings = HEADING.findall(overview)
    links = [(text, model) for text, model in MODEL_LINK.findall(overview) if text == model]
    assert len(headings) >= 3 and links, "the overview has sections and links to the marts"

    page = browser_page
    page.goto(docs_site)
    for heading in headings:
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(page.get_by_text("Welcome!", exact=True)).to_have_count(0)
    for text, _ in links:
        expect(page.get_by_role("link", name=text, exact=True).first).to_be_visible()
    screenshots.save(page, "dbt-docs-overview")

    text, model = links[0]
    page.get_by_role("link", name=text, exact=True).first.click()
    expect(page.get_by_role("heading", name=re.compile(f"^{model}"))).to_be_visible()


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


def test_a_model_page_shows_owner_tags_a_column_description_and_what_reads_the_model(
    docs_site, browser_page, screenshots
):
    (path,) = MARTS.rglob("fct_llm_calls.sql")
    owner, tags = _owner_and_tags(*path.parent.relative_to(MODELS).parts)
    description = _column_description("fct_llm_calls", "cost_usd")
    readers = _models_referencing("fct_llm_calls")
    assert description and readers and tags

    page = browser_page
    page.goto(f"{docs_site}#!/model/model.llm_margin.fct_llm_calls")
    expect(page.get_by_role("heading", name=re.compile("^fct_llm_calls"))).to_be_visible()

    def detail(label: str):
        return page.locator("dl.detail", has=page.get_by_text(label, exact=True)).locator("dd")

    expect(detail("Owner")).to_have_text(owner)
    expect(detail("Tags").locator("code").first).to_be_visible()
    assert set(detail("Tags").locator("code").all_inner_texts()) == tags
    # The columns table cuts descriptions short; a person clicks the row for the whole text.
    page.locator("tr.column-row", has=page.get_by_text("cost_usd", exact=True)).click()
    shown = page.get_by_text(description, exact=True).filter(visible=True)
    expect(shown).to_have_count(1)
    shown.scroll_into_view_if_needed()
    referenced_by = page.locator("section", has=page.get_by_text("Referenced By", exact=True))
    for reader in readers:
        expect(referenced_by.get_by_role("link", name=reader, exact=True)).to_be_visible()
    screenshots.save(page, "dbt-docs-fct_llm_calls")
