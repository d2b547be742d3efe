"""What-if scenarios: files in ``scenarios/`` (schema.py) checked with the file, line and reason
of every mistake before anything runs (parse.py, references.py), loaded into
``lake/scenarios/scenario_rules.parquet`` (lake.py) for the what-if dbt models, as a Dagster
asset (assets.py). docs/decisions.md, "What-if repricing"."""

from orchestration.scenarios.schema import Problem, Rule, Scenario, ScenarioError

__all__ = ["Problem", "Rule", "Scenario", "ScenarioError"]


def definitions():
    """The scenario rules lake asset and its check."""
    from dagster import Definitions

    from orchestration.scenarios.assets import scenario_rules_asset

    return Definitions(assets=[scenario_rules_asset])
