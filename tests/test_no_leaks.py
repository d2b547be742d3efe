"""Nothing shareable names this machine or holds a secret (docs/security.md).

The shared build ran with a webhook URL carrying a token, a Stripe key and a PostgreSQL password
in its environment (tests/conftest.py, ``FAKE_SECRETS``). Shareable outputs — the report as
printed and as HTML, every string column and comment of every table in the serving copy, the
gateway cap list — must hold neither those secrets nor an absolute path of this machine (the
data directory, the checkout). The private files under the data directory (the materialize
logs, the Dagster instance, the alerts outbox) may name paths, but no secret either."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
from conftest import CONCURRENT_MATERIALIZE, FAKE_SECRETS, FAKE_WEBHOOK_TOKEN
from rich.console import Console

from orchestration.paths import PROJECT_ROOT
from orchestration.report import print_report, read_report, write_html
from orchestration.serving.fingerprints import quote
from orchestration.serving.publish import serving_file

SECRETS = [FAKE_WEBHOOK_TOKEN, *FAKE_SECRETS.values()]


def _forbidden(built) -> list[str]:
    # the data directory's parent too: <tmp>/e2e0 holds it, and the checkout
    return [*SECRETS, str(built.root.parent), str(PROJECT_ROOT)]


def test_the_report_names_no_path_and_no_secret(built, tmp_path):
    report = read_report(serving_file(built.serving))
    printed = io.StringIO()
    print_report(report, Console(file=printed, width=160))
    html = write_html(report, tmp_path).read_text()
    built_html = [p.read_text() for p in built.reports.glob("founder-report-*.html")]
    assert printed.getvalue() and html and built_html
    for needle in _forbidden(built):
        assert needle not in printed.getvalue()
        assert needle not in html
        assert all(needle not in text for text in built_html)


def test_no_string_in_the_serving_copy_names_a_path_or_a_secret(built):
    found = []
    with duckdb.connect(str(serving_file(built.serving)), read_only=True) as con:
        columns = con.execute(
            "select schema_name, table_name, column_name, comment from duckdb_columns() "
            "where database_name = current_database() and not internal"
        ).fetchall()
        tables = con.execute(
            "select schema_name, table_name, comment from duckdb_tables() "
            "where database_name = current_database()"
        ).fetchall()
        assert len(tables) > 20
        for schema, table, column, _ in columns:
            relation = f"{quote(schema)}.{quote(table)}"
            for needle in _forbidden(built):
                hits = con.execute(
                    f"select count(*) from {relation} "
                    f"where contains(cast({quote(column)} as varchar), ?)",
                    [needle],
                ).fetchone()[0]
                if hits:
                    found.append(f"{schema}.{table}.{column}: {needle} ({hits} rows)")
        comments = [c for *_, c in columns + tables if c]  # when descriptions are published
        found += [
            f"comment: {needle}" for c in comments for needle in _forbidden(built) if needle in c
        ]
    caps = (built.serving / "gateway_caps.json").read_text()
    found += [f"gateway_caps.json: {n}" for n in _forbidden(built) if n in caps]
    assert found == []


def test_no_file_in_the_data_directory_or_the_command_output_holds_a_secret(built):
    files = [p for p in built.root.rglob("*") if p.is_file()]
    logs = list(built.logs.glob("materialize-*.log"))
    assert logs and any(p.parent.name == "dagster_home" or "dagster_home" in p.parts for p in files)
    files.append(built.root.parent / CONCURRENT_MATERIALIZE)  # what both commands printed
    found = []
    for path in files:
        content = path.read_bytes()
        found += [f"{path}: {s}" for s in SECRETS if s.encode() in content]
    assert found == []


def test_the_build_did_try_the_webhook_with_the_secret_url(built):
    # the secret reached the code that needed it: alerts fired and a delivery was attempted,
    # so the greps above looked where the secret could have leaked
    from orchestration.alerts.outbox import Outbox

    box = Outbox(Path(built.root) / "alerts" / "outbox.sqlite3")
    assert box.rows() and box.attempts()


def test_the_documentation_names_no_path_of_this_machine():
    # README and docs/ (docs/serving.md tells BI users where the serving copy is) use
    # $LLM_MARGIN_DATA_DIR and paths relative to the checkout, never this checkout's own path
    pages = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
    assert len(pages) > 10
    home = str(Path.home())
    needles = [str(PROJECT_ROOT), *([home + "/"] if home != "/" else [])]
    found = [
        f"{page.name}: {needle}"
        for page in pages
        for needle in needles
        if needle in page.read_text()
    ]
    assert found == []
