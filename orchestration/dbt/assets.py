"""Every dbt model as a Dagster asset; every dbt test (data and unit) as an asset check."""

import os

from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.dbt.project import llm_margin_project, parse_project
from orchestration.dbt.translator import LlmMarginTranslator
from orchestration.pools import WAREHOUSE_POOL

# A dbt node selection to leave out of this build, e.g. "test_type:unit" for a second build of
# unchanged models (the Spark comparison test's incremental step uses it; unit tests ran already).
EXCLUDE_ENV = "LLM_MARGIN_DBT_EXCLUDE"

parse_project()


@dbt_assets(
    manifest=llm_margin_project.manifest_path,
    project=llm_margin_project,
    dagster_dbt_translator=LlmMarginTranslator(),
    pool=WAREHOUSE_POOL,
)
def llm_margin_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource):
    # ``build`` runs models, unit tests and data tests in DAG order; a failing error-severity test
    # stops everything downstream of it and fails the run.
    args = ["build"]
    if os.environ.get(EXCLUDE_ENV):
        args += ["--exclude", os.environ[EXCLUDE_ENV]]
    yield from dbt.cli(args, context=context).stream()
