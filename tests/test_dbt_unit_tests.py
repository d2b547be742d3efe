"""The dbt unit tests run here, in ``make test``, because production builds leave them out.

They pin the SQL (money rules, chains, budgets) against fixed inputs; the data do not change their
outcome, so running them in every hourly Dagster build only costs time (BENCHMARKS.md).
"""

from __future__ import annotations

import json
import os
import subprocess

from orchestration.dbt.project import dbt_executable
from orchestration.paths import DATA_DIR_ENV, PROJECT_ROOT


def test_every_dbt_unit_test_passes(built, tmp_path):
    # they need the warehouse's relations (column types of non-SQL fixtures): use the built one
    result = subprocess.run(
        [dbt_executable(), "test", "--resource-type", "unit_test", "--quiet",
         "--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT),
         "--target", "duckdb", "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs")],
        env={**os.environ, DATA_DIR_ENV: str(built.root)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]

    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    declared = {uid for uid in manifest["unit_tests"]}
    run = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    ran = {r["unique_id"]: r["status"] for r in run if r["unique_id"].startswith("unit_test.")}
    assert len(declared) >= 25, sorted(declared)
    assert set(ran) == declared
    assert set(ran.values()) == {"pass"}


def test_production_builds_leave_unit_tests_out_unless_asked(monkeypatch):
    from orchestration.settings import DBT_EXCLUDE_ENV, DBT_UNIT_TESTS_ENV, Settings

    monkeypatch.delenv(DBT_UNIT_TESTS_ENV, raising=False)
    monkeypatch.delenv(DBT_EXCLUDE_ENV, raising=False)
    assert Settings().dbt_build_args() == ["build", "--exclude-resource-type", "unit_test"]
    monkeypatch.setenv(DBT_UNIT_TESTS_ENV, "1")
    assert Settings().dbt_build_args() == ["build"]
    monkeypatch.setenv(DBT_EXCLUDE_ENV, "marts")
    assert Settings().dbt_build_args() == ["build", "--exclude", "marts"]
    # set on the resource (the launchpad, a deployment), a value wins over the environment
    assert Settings(dbt_unit_tests=False, dbt_exclude="").dbt_build_args() == [
        "build",
        "--exclude-resource-type",
        "unit_test",
    ]
