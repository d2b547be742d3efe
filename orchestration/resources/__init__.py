"""Dagster resources."""

from __future__ import annotations

from dagster_dbt import DbtCliResource

from orchestration.dbt.project import dbt_executable, llm_margin_project


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(
        project_dir=llm_margin_project,
        profiles_dir=str(llm_margin_project.profiles_dir),
        target=llm_margin_project.target,  # LLM_MARGIN_DBT_TARGET when the project was imported
        dbt_executable=dbt_executable(),
    )
