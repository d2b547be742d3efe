"""Read and check every scenario file of a folder (or one file), with every outside check:
candidate models priced, features and routes observed, names unique across files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from orchestration.scenarios.parse import read_scenario
from orchestration.scenarios.references import (
    ObservedTraffic,
    candidate_problems,
    observed_traffic,
    traffic_problems,
)
from orchestration.scenarios.schema import Problem, Scenario, ScenarioError

SUFFIXES = (".yaml", ".yml")


@dataclass
class Checked:
    """The scenarios that passed every check, the problems of those that did not, and what was
    not checked (``traffic_skipped``: why features and routes were not checked)."""

    scenarios: list[Scenario] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    traffic_skipped: str | None = None


def scenario_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES)


def check_files(files: list[Path], *, lake: Path | None, warehouse: Path | None) -> Checked:
    """Check ``files`` in order; a scenario with any problem is left out of ``scenarios``. The
    warehouse is read only when a file names a feature or route."""
    checked = Checked()
    traffic: ObservedTraffic | None = None
    names: dict[str, Scenario] = {}
    for path in files:
        try:
            scenario = read_scenario(path)
        except ScenarioError as error:
            checked.problems += error.problems
            continue
        problems = candidate_problems(scenario, lake)
        if any(rule.feature or rule.route for rule in scenario.rules):
            if traffic is None:
                traffic = (
                    observed_traffic(warehouse)
                    if warehouse is not None
                    else ObservedTraffic(
                        skipped="no warehouse given: features and routes were "
                        "not checked against observed traffic"
                    )
                )
                checked.traffic_skipped = traffic.skipped
            problems += traffic_problems(scenario, traffic)
        if scenario.name in names:
            first = names[scenario.name]
            problems.append(
                Problem(
                    scenario.shown_file,
                    scenario.line,
                    f"scenario name {scenario.name!r} is already used by {first.shown_file} "
                    f"(line {first.line}): names must be unique across scenario files",
                )
            )
        if problems:
            checked.problems += problems
            continue
        names[scenario.name] = scenario
        checked.scenarios.append(scenario)
    return checked


def resolve_scenario_argument(argument: str, folder: Path) -> Path:
    """``argument`` as a file: a path that exists, else a scenario in ``folder`` by file name
    (with or without .yaml/.yml) or by its ``name``. Raises ``ScenarioError`` when none is."""
    given = Path(argument).expanduser()
    if given.is_file():
        return given.resolve()
    for suffix in ("", *SUFFIXES):
        candidate = folder / f"{argument}{suffix}"
        if candidate.is_file() and candidate.suffix in SUFFIXES:
            return candidate.resolve()
    for path in scenario_files(folder):
        try:
            if read_scenario(path).name == argument:
                return path.resolve()
        except ScenarioError:
            continue
    known = ", ".join(p.stem for p in scenario_files(folder)) or "none"
    raise ScenarioError(
        [
            Problem(
                argument,
                None,
                f"no such scenario: not a file, and not a scenario in {folder} "
                f"(scenarios there: {known})",
            )
        ]
    )
