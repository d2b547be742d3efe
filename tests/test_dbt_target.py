"""The dbt target is chosen before the dbt project is loaded: ``--target`` and
``LLM_MARGIN_DBT_TARGET`` reach the DbtProject and the DbtCliResource, each target parses into
its own folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from orchestration.cli import build_parser, select_dbt_target
from orchestration.dbt.project import dbt_target_path
from orchestration.paths import DBT_TARGET_ENV, DBT_TARGET_PATH_ENV, PROJECT_ROOT


def test_materialize_takes_a_target():
    args = build_parser().parse_args(["materialize", "--target", "spark"])
    assert args.target == "spark"
    assert build_parser().parse_args(["materialize"]).target is None


def test_each_target_parses_into_its_own_folder(monkeypatch):
    monkeypatch.delenv(DBT_TARGET_PATH_ENV, raising=False)
    assert dbt_target_path("duckdb") == Path("target")
    assert dbt_target_path("spark") == Path("target") / "spark"


def test_a_build_run_beside_another_parses_into_the_folder_it_is_given(monkeypatch):
    monkeypatch.setenv(DBT_TARGET_PATH_ENV, "target/ci-spark")
    assert dbt_target_path("duckdb") == Path("target/ci-spark")
    assert dbt_target_path("spark") == Path("target/ci-spark/spark")


def test_a_target_set_before_import_reaches_the_project_and_the_resource(data_dir):
    code = (
        "from orchestration.cli import select_dbt_target\n"
        "assert select_dbt_target('spark') is None\n"
        "from orchestration.dbt.project import llm_margin_project as project\n"
        "from orchestration.resources import dbt_resource\n"
        "print(project.target, dbt_resource().target, project.target_path.as_posix())\n"
    )
    environment = {**os.environ, DBT_TARGET_PATH_ENV: "target/side-by-side"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == ["spark", "spark", "target/side-by-side/spark"]


def test_a_target_set_after_the_project_was_loaded_is_refused(monkeypatch):
    from orchestration.dbt import project  # loaded for the default target in this process

    monkeypatch.setenv(DBT_TARGET_ENV, project.llm_margin_project.target)
    assert select_dbt_target(None) is None
    assert select_dbt_target(project.llm_margin_project.target) is None
    other = "spark" if project.llm_margin_project.target != "spark" else "duckdb"
    problem = select_dbt_target(other)  # a profiles.yml output, but not the loaded one
    assert problem and f"--target {other}" in problem
