"""What ``llm-margin whatif SCENARIO`` does, holding the data directory's lock: check every
scenario file (the one asked for must pass), load them into the lake, build only the what-if dbt
models and their tests, publish the serving copy (so the weekly report's "Cheapest equivalent"
sees the scenario), and read the comparison from the warehouse."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.paths import DEFAULT_DBT_TARGET, PROJECT_ROOT, DataPaths
from orchestration.pricing.resolution import write_resolution
from orchestration.scenarios.lake import write_scenario_rules
from orchestration.scenarios.load import check_files, scenario_files
from orchestration.scenarios.schema import Problem, Scenario, ScenarioError

# The what-if models only: downstream of the scenario rules and upstream of the two marts (the
# models they read, fct_llm_calls and the revenue models, are the last build's).
WHATIF_SELECTION = [
    "source:scenarios.scenario_rules+,+mart_whatif_feature_route",
    "source:scenarios.scenario_rules+,+mart_whatif_plan_margin",
]


class WhatIfRunError(RuntimeError):
    """A step of the what-if run failed; the message says which and where its log is."""


@dataclass
class Loaded:
    scenario: Scenario
    others_left_out: list[Problem]  # problems of other scenario files (they are not loaded)
    traffic_skipped: str | None


def check_and_load(path: Path, folder: Path, paths: DataPaths) -> Loaded:
    """Check the scenario in ``path`` and every file in ``folder``; write the valid ones' rules
    into the lake, and resolve their candidates. Raises ``ScenarioError`` when ``path`` itself has a problem (nothing written)."""
    files = scenario_files(folder)
    if path not in files:
        files.append(path)
    checked = check_files(files, lake=paths.lake, warehouse=paths.warehouse)
    own = [p for p in checked.problems if _same_file(p, path)]
    if own:
        raise ScenarioError(own)
    scenario = next(s for s in checked.scenarios if s.file == path)
    others = [p for p in checked.problems if not _same_file(p, path)]
    write_scenario_rules(paths.scenario_rules, checked.scenarios)
    # the candidates are priced through the one model resolution, as real calls are
    write_resolution(paths.lake)
    return Loaded(scenario, others, checked.traffic_skipped)


def _same_file(problem: Problem, path: Path) -> bool:
    from orchestration.scenarios.parse import shown_path

    return problem.file == shown_path(path)


def dbt_whatif_command(build_args: list[str], target: str, target_path: Path) -> list[str]:
    from orchestration.dbt.project import dbt_executable

    return [
        dbt_executable(),
        *build_args,
        "--select",
        *WHATIF_SELECTION,
        "--project-dir",
        str(PROJECT_ROOT),
        "--profiles-dir",
        str(PROJECT_ROOT),
        "--target",
        target,
        "--target-path",
        str(target_path),
    ]


def build_whatif_models(paths: DataPaths, log: Callable[[str], None]) -> Path:
    """``dbt build`` of the what-if models (the settings' build arguments: unit tests left out
    unless asked for); its output goes to ``logs/whatif-<UTC time>.log``. Raises
    ``WhatIfRunError`` naming the log when dbt fails."""
    from orchestration.dbt.project import dbt_env, llm_margin_project
    from orchestration.settings import Settings

    if llm_margin_project.target != DEFAULT_DBT_TARGET:
        raise WhatIfRunError(
            f"llm-margin whatif builds on the {DEFAULT_DBT_TARGET} warehouse only; the dbt target "
            f"is {llm_margin_project.target!r} (unset LLM_MARGIN_DBT_TARGET)"
        )
    paths.logs.mkdir(parents=True, exist_ok=True)
    log_path = paths.logs / f"whatif-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"
    command = dbt_whatif_command(
        Settings().dbt_build_args(), llm_margin_project.target, llm_margin_project.target_path
    )
    log(f"building the what-if models (dbt log: {log_path})")
    with log_path.open("w", encoding="utf-8") as out:
        done = subprocess.run(
            command, env=dbt_env(), cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    if done.returncode != 0:
        raise WhatIfRunError(
            f"dbt build of the what-if models failed (exit {done.returncode}); see {log_path}"
        )
    return log_path


def publish(paths: DataPaths, log: Callable[[str], None]) -> None:
    from orchestration.serving.publish import publish_serving_copy

    publish_serving_copy(paths.warehouse, paths.serving)
    log("serving copy published")


def read_comparison(paths: DataPaths, scenario: Scenario):
    from orchestration.report.whatif import read_whatif

    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return read_whatif(con, scenario.name, scenario.shown_file, scenario.description)
