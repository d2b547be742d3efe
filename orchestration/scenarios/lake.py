"""Write ``lake/scenarios/scenario_rules.parquet``: one row per rule of every loaded scenario,
the whole file replaced atomically (temp file + rename). With no scenario the file still exists,
with zero rows and the same types, so the what-if dbt models always build."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import AssetKey

from orchestration.scenarios.assumptions import assumptions
from orchestration.scenarios.schema import Scenario

# The asset that writes the file (assets.py); the model resolution reads its candidates.
LAKE_SCENARIO_RULES = AssetKey(["lake", "scenario_rules"])

SCHEMA = pa.schema(
    [
        ("scenario_id", pa.string()),
        ("scenario_file", pa.string()),
        ("rule_index", pa.int32()),
        ("rule_line", pa.int32()),
        ("match_feature", pa.string()),
        ("match_route", pa.string()),
        ("candidate_provider", pa.string()),
        ("candidate_model", pa.string()),
        ("candidate_service_tier", pa.string()),
        ("cache_hit_rate", pa.float64()),
        ("token_ratio", pa.float64()),
        ("period_start", pa.date32()),
        ("period_end", pa.date32()),
        ("price_basis", pa.string()),
        ("price_date", pa.date32()),
        ("assumptions", pa.string()),
    ]
)


def rule_rows(scenarios: list[Scenario]) -> list[dict]:
    return [
        {
            "scenario_id": scenario.name,
            "scenario_file": scenario.shown_file,
            "rule_index": rule.index,
            "rule_line": rule.line,
            "match_feature": rule.feature,
            "match_route": rule.route,
            "candidate_provider": rule.provider,
            "candidate_model": rule.model,
            "candidate_service_tier": rule.service_tier,
            "cache_hit_rate": rule.cache_hit_rate,
            "token_ratio": float(rule.token_ratio),
            "period_start": scenario.period_start,
            "period_end": scenario.period_end,
            "price_basis": scenario.price_basis,
            "price_date": scenario.price_date,
            "assumptions": assumptions(scenario, rule),
        }
        for scenario in scenarios
        for rule in scenario.rules
    ]


def write_scenario_rules(target: Path, scenarios: list[Scenario]) -> int:
    """Replace ``target`` with the rules of ``scenarios``; returns the number of rows."""
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = rule_rows(scenarios)
    temp = target.with_name(f".{target.name}.tmp")
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), temp)
    os.replace(temp, target)
    return len(rows)
