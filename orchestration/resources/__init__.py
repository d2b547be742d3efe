"""Dagster resources."""

from __future__ import annotations

from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging.version import Version

from orchestration.dbt.project import dbt_beside_interpreter, dbt_executable, llm_margin_project
from orchestration.dbt.saved_parse import SAVED_PARSE, copy_saved_parse


class LlmMarginDbtCli(DbtCliResource):
    """dagster-dbt's dbt resource, with three fixed costs of every dbt command removed
    (docs/reliability.md "CI time").

    - The version of the virtualenv's own dbt comes from its package metadata. dagster-dbt learns
      it by running ``dbt --version`` before every dbt command: a second dbt process that imports
      dbt and every adapter and asks PyPI for the latest release (up to a one-second timeout),
      13 s of a 207 s small build. Any other executable is still asked.
    - The saved parse dbt starts from is this target's (``target/`` or ``target/<name>/``, where
      ``dbt parse`` writes it; dagster-dbt would copy ``target/``'s whatever the target), stamped
      for the data directory when only that differs (orchestration/dbt/saved_parse.py), so dbt
      parses partially instead of from scratch.
    - No dbt adapter in the Dagster process. dagster-dbt opens one (loading the profile and the
      project and registering the adapter: 1.2 s measured alone) only to fetch row counts and
      column metadata after each model, which this project does not ask for; the dbt subprocess
      has its own."""

    @cached_property
    def _cli_version(self) -> Version:
        if Path(self.dbt_executable) == dbt_beside_interpreter():
            return Version(installed_version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args):
        return None  # as for the Fusion engine: events stream the same, with no metadata fetch

    def cli(self, args, *, context=None, target_path: Path | None = None, **kwargs):
        target_path = target_path or self._get_unique_target_path(context=context)
        project_dir = Path(self.project_dir)
        copy_saved_parse(
            project_dir / llm_margin_project.target_path / SAVED_PARSE,
            target_path if target_path.is_absolute() else project_dir / target_path,
            project_dir=project_dir,
            profiles_dir=Path(self.profiles_dir or self.project_dir),
            target=self.target or llm_margin_project.target,
        )
        return super().cli(args, context=context, target_path=target_path, **kwargs)


def dbt_resource() -> DbtCliResource:
    return LlmMarginDbtCli(
        project_dir=llm_margin_project,
        profiles_dir=str(llm_margin_project.profiles_dir),
        target=llm_margin_project.target,  # LLM_MARGIN_DBT_TARGET when the project was imported
        dbt_executable=dbt_executable(),
    )
