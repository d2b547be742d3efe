"""Hostile names through every option and setting that takes one (docs/security.md): each is
used verbatim or refused with an error that names it, and nothing it holds runs as SQL.

Covered elsewhere and not repeated here: the serving reader role (tests/test_settings.py), the
rebuild job's days (tests/test_rebuild_days.py), names inside the data, escaped in the HTML
report (tests/test_report.py), ``$LLM_MARGIN_BIND_HOST`` (tests/test_bind_host.py)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from conftest import event, write_jsonl
from dagster import AssetSelection, Definitions, define_asset_job

from orchestration import cli
from orchestration.checks.serving import relation_rows
from orchestration.paths import DATA_DIR_ENV, DataDirError, DataPaths
from orchestration.serving import publish_serving_copy
from orchestration.serving.publish import serving_file
from orchestration.settings import Settings

INJECTION = "'; drop table x; --"
# accepted in a directory name, and must then work as any other name
ACCEPTED = ['q"uote', "semi;colon --dash", "<script>alert(1)</script>", "unicodé 漢字 ü", "l" * 200]
# refused in a data directory's path: a quote ends SQL's string, the others are file patterns
HOSTILE_FILE = "'; drop table x; -- <script>é.jsonl"
REFUSED = [INJECTION, "star*", "what?", "[ab]", "{a,b}", "new\nline"]


@pytest.mark.parametrize("name", REFUSED)
@pytest.mark.parametrize("command", [["generate", "--quiet"], ["materialize"], ["report"]])
def test_a_data_dir_that_would_break_sql_or_globs_is_refused_before_anything(
    name, command, tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    root = tmp_path / name / "data"
    assert cli.main(["--data-dir", str(root), *command]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "the data directory" in said and "in its path" in said and "--data-dir" in said
    assert not (tmp_path / name).exists()
    # the same through the environment, and through the settings resource of a Dagster run
    monkeypatch.setenv(DATA_DIR_ENV, str(root))
    assert cli.main(command) == 2
    with pytest.raises(DataDirError, match="in its path"):
        Settings(data_dir=str(root)).paths()


def test_a_stripe_data_dir_that_would_break_sql_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    twin = tmp_path / INJECTION
    code = cli.main(["generate", "--billing", "both", "--stripe-data-dir", str(twin), "--quiet"])
    said = " ".join(capsys.readouterr().err.split())
    assert code == 2 and '(--stripe-data-dir) has "\'" in its path' in said, said
    assert not twin.exists() and not (tmp_path / "data").exists()


@pytest.mark.parametrize("target", [INJECTION, "../../elsewhere", '"', "<script>", "é" * 300])
def test_a_dbt_target_that_is_not_in_profiles_yml_is_refused(target, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "data"))
    assert cli.main(["materialize", "--target", target]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "is not one of profiles.yml's outputs: duckdb, serving, spark" in said
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("week", [INJECTION, "2026-W47'; --", "<script>", "２０２６-W47"])
def test_a_report_week_that_is_not_an_iso_week_is_refused(week, data_dir, capsys):
    assert cli.main(["report", "--week", week]) == 2
    assert "is not an ISO week: expected YYYY-Www" in " ".join(capsys.readouterr().err.split())


def test_ingestion_under_a_data_dir_named_with_quotes_markup_and_unicode(tmp_path, monkeypatch):
    """Every lake writer (each source's ingestion, price rules, model resolutions) on a data
    directory whose path holds every accepted hostile name: all files load, as they do under
    a plain name, and the lake records the landing files' names verbatim."""
    from orchestration.definitions import defs
    from sample_data import generate

    def load(root: Path) -> dict:
        monkeypatch.setenv(DATA_DIR_ENV, str(root))
        generate(root, seed=5, events=150, days=2, customers=2, progress=False, billing="stripe")
        write_jsonl(root / "landing" / "usage_events" / HOSTILE_FILE, [event(event_id=INJECTION)])
        job = "lake_writers"
        result = (
            Definitions(
                assets=list(defs.assets),
                resources={**defs.resources, "settings": Settings(data_dir=str(root))},
                jobs=[define_asset_job(job, selection=AssetSelection.groups("lake"))],
            )
            .resolve_job_def(job)
            .execute_in_process(raise_on_error=False)
        )
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        manifests = [p.read_text() for p in (root / "lake" / "_manifests").rglob("*.json")]
        loaded = [json.loads(text) for text in manifests if text.strip()]
        return {
            "records": _records(root / "lake"),
            "files": sorted(m["source_file"] for m in loaded),
        }

    hostile = tmp_path.joinpath(*ACCEPTED) / "data"
    plain = load(tmp_path / "plain" / "data")
    odd = load(hostile)
    assert odd == plain
    assert len(plain["files"]) > 5 and plain["records"]["usage_events"] > 100
    # the landing file with the hostile name loaded its one record, under its name verbatim
    assert HOSTILE_FILE in odd["files"]
    with duckdb.connect() as con:
        files = [str(p) for p in (hostile / "lake" / "usage_events").rglob("*.parquet")]
        assert con.execute(
            "select _source_file from read_parquet(?, union_by_name = true) where event_id = ?",
            [files, INJECTION],
        ).fetchall() == [(HOSTILE_FILE,)]


def _records(lake: Path) -> dict[str, int]:
    counts = {}
    for dataset in ("usage_events", "quarantine"):
        files = [str(p) for p in (lake / dataset).rglob("*.parquet")]
        with duckdb.connect() as con:
            counts[dataset] = (
                con.execute("select count(*) from read_parquet(?)", [files]).fetchone()[0]
                if files
                else 0
            )
    return counts


@pytest.mark.parametrize("name", [INJECTION, 'a"b', "<script>", "漢字 table", "t" * 300])
def test_a_warehouse_table_with_a_hostile_name_is_served_verbatim(name, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.x as select 1 as canary")
        quoted = '"' + name.replace('"', '""') + '"'
        con.execute(f"create table marts.{quoted} as select range as id from range(3)")
    publish_serving_copy(warehouse, tmp_path / "serving")
    # the check comparing the serving copy with the warehouse counts it under its own name
    served = relation_rows(serving_file(tmp_path / "serving"))
    assert served == relation_rows(warehouse) == {f"marts.{name}": 3, "marts.x": 1}


def test_a_data_dir_with_a_hostile_but_accepted_name_is_used_verbatim(tmp_path, monkeypatch):
    root = tmp_path.joinpath(*ACCEPTED[:4]) / "data"
    assert DataPaths(root).root == root
    monkeypatch.setenv(DATA_DIR_ENV, str(root))
    assert (
        cli.main(["generate", "--events", "50", "--days", "1", "--customers", "1", "--quiet"]) == 0
    )
    assert any((root / "landing" / "usage_events").iterdir())
