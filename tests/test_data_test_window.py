"""Data tests on an incremental run read only the days it rebuilt; on a full build, on
--full-refresh and with LLM_MARGIN_DATA_TESTS=whole_table (the suite, CI) they read whole tables
(macros/data_test_window.sql).

One small generated data set: every day but the last is built from scratch, then the last day's
file lands and the models are built again incrementally. Duplicates are planted by hand in the
built tables, one on the new day (inside the rebuilt window) and one on the first day (outside
it); what each `unique` test reports, and the SQL dbt compiled for it, show which rows it read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest
from held_back_days import FIRST_DAY, generate_holding_back

from orchestration.dbt.project import dbt_executable
from orchestration.paths import DATA_DIR_ENV, PROJECT_ROOT, DataPaths

SCOPE_ENV = "LLM_MARGIN_DATA_TESTS"
PLACEHOLDER = "__first_rebuilt_day__"
FILE_DAY = re.compile(r"(\d{4}-\d\d-\d\d)")

# the unique test of each big table's key, and the column the window is on
UNIQUE_TESTS = {
    "staging.stg_usage__events": ("unique_stg_usage__events_event_id", "event_date"),
    "marts.fct_llm_calls": ("unique_fct_llm_calls_event_id", "event_date"),
    "marts.fct_tasks": ("unique_fct_tasks_task_id", "task_date"),
}
RECONCILIATION = "assert_every_lake_event_is_in_staging"


def _dbt(paths: DataPaths, work: Path, *args: str, scope: str) -> dict[str, dict]:
    """Runs dbt with the data-test scope given; returns run_results by node name."""
    target = work / "dbt_target"
    result = subprocess.run(
        [dbt_executable(), *args, "--quiet", "--project-dir", str(PROJECT_ROOT),
         "--profiles-dir", str(PROJECT_ROOT), "--target", "duckdb",
         "--target-path", str(target), "--log-path", str(work / "dbt_logs")],
        env={**os.environ, DATA_DIR_ENV: str(paths.root), SCOPE_ENV: scope},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    results = json.loads((target / "run_results.json").read_text())["results"]
    by_name = {r["unique_id"].split(".")[2]: r for r in results}
    errors = [n for n, r in by_name.items() if r["status"] == "error"]
    assert not errors, (errors, (result.stdout + result.stderr)[-4000:])
    return by_name


def _test(paths: DataPaths, work: Path, *names: str, scope: str) -> dict[str, dict]:
    return _dbt(paths, work, "test", "--select", *names, scope=scope)


def _ingest(paths: DataPaths, monkeypatch) -> None:
    from dagster import DagsterInstance, materialize

    from orchestration.definitions import defs

    monkeypatch.setenv(DATA_DIR_ENV, str(paths.root))
    ingestion = [
        a
        for a in defs.assets
        if all(
            key.path[0] in ("landing", "lake")
            for key in (a.keys if hasattr(a, "keys") else [a.key])
        )
    ]
    with DagsterInstance.ephemeral() as instance:
        assert materialize(ingestion, instance=instance, resources=defs.resources).success


def _sql(warehouse: Path, sql: str, *, write: bool = False) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=not write) as con:
        return con.execute(sql).fetchall()


def _plant_duplicate(warehouse: Path, table: str, column: str, day: date) -> None:
    """A second copy of one row of ``table`` dated ``day``: the unique test must see one
    duplicated key when it reads that day."""
    with duckdb.connect(str(warehouse)) as con:
        (count,) = con.execute(f"select count(*) from {table} where {column} = ?", [day]).fetchone()
        assert count > 0, f"{table} has no row on {day}"
        con.execute(
            f"insert into {table} select * from {table} where {column} = ? order by all limit 1",
            [day],
        )


def _drop_duplicates(warehouse: Path, table: str) -> None:
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"create temp table kept as select distinct * from {table}")
        con.execute(f"delete from {table}")
        con.execute(f"insert into {table} select * from kept")


@pytest.fixture(scope="module")
def incremental(tmp_path_factory):
    """Days 1-5 built from scratch, day 6 landed and built incrementally (`dbt build` both times:
    the tests of staging run before int_llm_calls_priced is rebuilt). Yields (paths, work, the
    first day, the new file's day, the run results of the full and of the incremental build)."""
    work = tmp_path_factory.mktemp("data_test_window")
    paths = DataPaths(work / "data")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv(DATA_DIR_ENV, str(paths.root))
    try:
        landing, held, (last_file,) = generate_holding_back(paths, work, 1)
        _ingest(paths, monkeypatch)
        full = _dbt(
            paths, work, "build", "--exclude-resource-type", "unit_test", scope="rebuilt_days"
        )

        # the new file's day, from its name (usage-YYYY-MM-DD.*): the run rebuilds at least it
        new_day = date.fromisoformat(FILE_DAY.search(last_file.name).group(1))
        shutil.move(held / last_file.name, landing / last_file.name)
        _ingest(paths, monkeypatch)
        incremental = _dbt(
            paths, work, "build", "--exclude-resource-type", "unit_test", scope="rebuilt_days"
        )
        yield paths, work, date.fromisoformat(FIRST_DAY), new_day, full, incremental
    finally:
        monkeypatch.undo()


def test_a_full_build_reads_whole_tables(incremental):
    _, _, _, _, full, _ = incremental
    for test, _column in UNIQUE_TESTS.values():
        assert full[test]["status"] == "pass"
        compiled = full[test]["compiled_code"]
        assert PLACEHOLDER not in compiled and "dbt_subquery" not in compiled, compiled
    assert full[RECONCILIATION]["status"] == "pass"
    assert "lake_event_date >=" not in full[RECONCILIATION]["compiled_code"]


def test_an_incremental_build_reads_the_days_it_rebuilt_and_passes(incremental):
    _, _, first_day, new_day, _, results = incremental
    tests = {n: r for n, r in results.items() if r["unique_id"].startswith("test.")}
    assert {n: r["status"] for n, r in tests.items() if r["status"] != "pass"} == {}
    # every scoped test starts after the first day and no later than the new file's day, the
    # tests of staging (run before the pricing models are rebuilt) included
    for test, column in UNIQUE_TESTS.values():
        compiled = tests[test]["compiled_code"]
        window_start = date.fromisoformat(compiled.split(f"{column} >= cast('")[1][:10])
        assert first_day < window_start <= new_day, compiled
    assert "lake_event_date >= cast('" in tests[RECONCILIATION]["compiled_code"]


@pytest.mark.parametrize("table", sorted(UNIQUE_TESTS))
def test_a_duplicate_in_the_rebuilt_days_is_caught_and_one_outside_them_only_on_whole_tables(
    incremental, table
):
    paths, work, first_day, new_day, _, _ = incremental
    test, column = UNIQUE_TESTS[table]
    (last_day,) = _sql(paths.warehouse, f"select max({column}) from {table}")[0]
    _plant_duplicate(paths.warehouse, table, column, last_day)
    _plant_duplicate(paths.warehouse, table, column, first_day)
    try:
        scoped = _test(paths, work, test, scope="rebuilt_days")[test]
        whole = _test(paths, work, test, scope="whole_table")[test]
    finally:
        _drop_duplicates(paths.warehouse, table)

    assert scoped["status"] == "fail" and scoped["failures"] == 1  # the new day's only
    assert f"{column} >= cast('" in scoped["compiled_code"]
    assert whole["status"] == "fail" and whole["failures"] == 2  # both
    assert "dbt_subquery" not in whole["compiled_code"]
    assert _test(paths, work, test, scope="rebuilt_days")[test]["status"] == "pass"


def test_the_lake_reconciliation_catches_a_duplicate_staging_row_in_the_rebuilt_days(incremental):
    paths, work, _, _, _, _ = incremental
    (last_day,) = _sql(paths.warehouse, "select max(event_date) from staging.stg_usage__events")[0]
    _plant_duplicate(paths.warehouse, "staging.stg_usage__events", "event_date", last_day)
    try:
        scoped = _test(paths, work, RECONCILIATION, scope="rebuilt_days")[RECONCILIATION]
    finally:
        _drop_duplicates(paths.warehouse, "staging.stg_usage__events")
    assert scoped["status"] == "fail"
    assert "lake_event_date >=" in scoped["compiled_code"]


def test_full_refresh_reads_whole_tables(incremental):
    paths, work, _, _, _, _ = incremental
    test = UNIQUE_TESTS["marts.fct_llm_calls"][0]
    results = _dbt(
        paths, work, "build", "--full-refresh", "--select", f"fct_llm_calls {test}",
        scope="rebuilt_days",
    )  # fmt: skip
    assert results[test]["status"] == "pass"
    assert "dbt_subquery" not in results[test]["compiled_code"]


def test_an_unknown_scope_is_refused_with_the_values_it_takes(incremental):
    paths, work, _, _, _, _ = incremental
    target = work / "dbt_target_bad"
    result = subprocess.run(
        [dbt_executable(), "test", "--select", UNIQUE_TESTS["marts.fct_llm_calls"][0],
         "--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT),
         "--target", "duckdb", "--target-path", str(target)],
        env={**os.environ, DATA_DIR_ENV: str(paths.root), SCOPE_ENV: "partitions"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "LLM_MARGIN_DATA_TESTS must be 'rebuilt_days'" in result.stdout + result.stderr
