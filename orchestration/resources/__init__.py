"""Dagster resources."""

from __future__ import annotations

from dagster_dbt import DbtCliResource

from orchestration.dbt.project import dbt_executable, dbt_target, llm_margin_project


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=llm_margin_project,
        profiles_dir=str(llm_margin_project.profiles_dir),
        target=dbt_target(),
        dbt_executable=dbt_executable(),
    )
