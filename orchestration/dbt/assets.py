"""Every dbt model as a Dagster asset; every dbt data test as an asset check.

dbt unit tests check the SQL against fixed inputs, not the data: they run in ``make test``
(``tests/test_dbt_unit_tests.py``), not in every production build, where they cost about a third
of an incremental build's dbt time (BENCHMARKS.md, "Findings"). Set ``LLM_MARGIN_DBT_UNIT_TESTS=1``
to run them in a build as well (or set ``dbt_unit_tests`` on the ``settings`` resource; before
each model they test, as ``dbt build`` orders them).
"""

import os

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DbtCliResource, dbt_assets, get_asset_key_for_model

from orchestration.checks import gx_worker
from orchestration.data_lock import writer_step
from orchestration.dbt.project import llm_margin_project, parse_project
from orchestration.dbt.translator import LlmMarginTranslator
from orchestration.paths import DATA_DIR_ENV
from orchestration.pools import WAREHOUSE_POOL
from orchestration.settings import Settings

parse_project()


@dbt_assets(
    manifest=llm_margin_project.manifest_path,
    project=llm_margin_project,
    dagster_dbt_translator=LlmMarginTranslator(),
    pool=WAREHOUSE_POOL,
)
@writer_step
def llm_margin_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource, settings: Settings):
    # ``build`` runs models and data tests in DAG order; a failing error-severity test stops
    # everything downstream of it and fails the run. dbt (a subprocess) reads the data directory
    # from the environment, so it gets the absolute one this run uses.
    os.environ[DATA_DIR_ENV] = str(settings.paths().root)
    gx_worker.stop()  # the checks it served are done; it must not add to dbt's memory
    yield from dbt.cli(settings.dbt_build_args(), context=context).stream()


def model_key(name: str) -> AssetKey:
    """The asset key of dbt model ``name``, from the manifest (never a hand-typed key)."""
    return get_asset_key_for_model([llm_margin_dbt_assets], name)
