"""Dagster resources."""

from __future__ import annotations

import sys
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging.version import Version

from orchestration.dbt.project import dbt_executable, llm_margin_project


class LlmMarginDbtCli(DbtCliResource):
    """dagster-dbt's dbt resource, told the version of the virtualenv's own dbt.

    dagster-dbt learns the version of its dbt executable by running ``dbt --version`` before
    every dbt command: a second dbt process that imports dbt and every adapter and asks PyPI for
    the latest release (up to a one-second timeout). That took 13 s of a 207 s small build
    (docs/reliability.md "CI time"). When the executable is the ``dbt`` beside this interpreter,
    it runs this interpreter's dbt-core, whose version the package metadata states; any other
    executable is still asked."""

    @cached_property
    def _cli_version(self) -> Version:
        if Path(self.dbt_executable) == Path(sys.executable).parent / "dbt":
            return Version(installed_version("dbt-core"))
        return super()._cli_version


def dbt_resource() -> DbtCliResource:
    return LlmMarginDbtCli(
        project_dir=llm_margin_project,
        profiles_dir=str(llm_margin_project.profiles_dir),
        target=llm_margin_project.target,  # LLM_MARGIN_DBT_TARGET when the project was imported
        dbt_executable=dbt_executable(),
    )
