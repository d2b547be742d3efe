"""The dbt semantic layer (models/marts/semantic/): `dbt parse` accepts it (it validates every
metric against its measures) and the manifest holds each metric the margin issue asks for, with
the right type and inputs, plus the time spine and the exposures."""

from __future__ import annotations

import json

import pytest

from orchestration.dbt.project import parse_project

MARGIN_MARTS = {
    "mart_customer_monthly_margin",
    "mart_plan_monthly_margin",
    "mart_feature_monthly_margin",
    "mart_channel_monthly_margin",
}


@pytest.fixture(scope="module")
def manifest() -> dict:
    # raises CalledProcessError when dbt parse rejects the project
    return json.loads(parse_project().read_text())


def _metric(manifest: dict, name: str) -> dict:
    metrics = {m["name"]: m for m in manifest["metrics"].values()}
    assert name in metrics, f"metric {name} is not in the manifest"
    return metrics[name]


def _measure(manifest: dict, name: str) -> tuple[dict, dict]:
    for model in manifest["semantic_models"].values():
        for measure in model["measures"]:
            if measure["name"] == name:
                return model, measure
    raise AssertionError(f"measure {name} is in no semantic model")


@pytest.mark.parametrize(
    ("metric", "measure", "model", "column"),
    [
        ("ai_cost", "ai_cost_usd", "mart_customer_monthly_margin", "ai_cost_usd"),
        ("revenue", "revenue_usd", "mart_customer_monthly_margin", "revenue_usd"),
        (
            "margin_successful_tasks",
            "margin_successful_tasks",
            "mart_customer_monthly_margin",
            "successful_tasks",
        ),
        ("tasks", "tasks", "fct_tasks", "1"),
        ("successful_tasks", "successful_tasks", "fct_tasks", "is_successful"),
        ("fallback_tasks", "fallback_tasks", "fct_tasks", "is_fallback"),
        ("task_cost", "task_cost_usd", "fct_tasks", "total_cost_usd"),
    ],
)
def test_simple_metrics_sum_the_right_column(manifest, metric, measure, model, column):
    found = _metric(manifest, metric)
    assert found["type"] == "simple"
    assert found["type_params"]["measure"]["name"] == measure
    semantic_model, measure_def = _measure(manifest, measure)
    assert semantic_model["depends_on"]["nodes"] == [f"model.llm_margin.{model}"]
    assert measure_def["agg"] == "sum"
    assert column in (measure_def["expr"] or measure_def["name"])


def test_gross_margin_metrics_derive_from_revenue_and_ai_cost(manifest):
    for name in ("gross_margin", "gross_margin_pct"):
        metric = _metric(manifest, name)
        assert metric["type"] == "derived"
        assert {m["name"] for m in metric["type_params"]["metrics"]} == {"revenue", "ai_cost"}
        assert sorted(m["name"] for m in metric["type_params"]["input_measures"]) == [
            "ai_cost_usd",
            "revenue_usd",
        ]
    assert _metric(manifest, "gross_margin")["type_params"]["expr"] == "revenue - ai_cost"
    pct = _metric(manifest, "gross_margin_pct")["type_params"]["expr"]
    assert pct.startswith("100 *") and "nullif(revenue, 0)" in pct


@pytest.mark.parametrize(
    ("metric", "numerator", "denominator"),
    [
        ("cost_per_successful_task", "ai_cost", "margin_successful_tasks"),
        ("success_rate", "successful_tasks", "tasks"),
        ("fallback_rate", "fallback_tasks", "tasks"),
        ("task_cost_per_successful_task", "task_cost", "successful_tasks"),
    ],
)
def test_ratio_metrics(manifest, metric, numerator, denominator):
    found = _metric(manifest, metric)
    assert found["type"] == "ratio"
    assert found["type_params"]["numerator"]["name"] == numerator
    assert found["type_params"]["denominator"]["name"] == denominator


def test_a_daily_time_spine_is_configured(manifest):
    spines = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node.get("time_spine")
    ]
    assert [s["name"] for s in spines] == ["time_spine_daily"]
    spine = spines[0]
    assert spine["time_spine"]["standard_granularity_column"] == "date_day"
    assert spine["columns"]["date_day"]["granularity"] == "day"


def _exposures(manifest: dict) -> dict[str, set[str]]:
    return {
        e["name"]: {node.split(".")[-1] for node in e["depends_on"]["nodes"]}
        for e in manifest["exposures"].values()
    }


def test_the_report_exposure_lists_exactly_the_tables_the_report_reads(manifest):
    """The lineage in the docs site must be the report's real inputs: every `marts.x` / `audit.x`
    named in orchestration/report/ and nothing else."""
    import re
    from pathlib import Path

    import orchestration.report as report

    read = set()
    for source in Path(report.__file__).parent.glob("*.py"):
        read |= set(re.findall(r"\b(?:marts|audit)\.([a-z_]+)", source.read_text()))
    assert "mart_plan_monthly_margin" in read and "mart_budget_status" in read
    exposures = _exposures(manifest)
    # the what-if page (report/whatif*.py) reads the what-if marts; the weekly report reads the
    # rest, and the scenario mart for its cheapest-equivalent section
    whatif = {name for name in read if name.startswith("mart_whatif_")}
    assert (
        exposures["whatif_page"]
        == whatif
        == {"mart_whatif_feature_route", "mart_whatif_plan_margin"}
    )
    assert exposures["weekly_founder_report"] == read - {"mart_whatif_plan_margin"}


def test_the_serving_exposure_lists_every_model_the_copy_publishes(manifest):
    from orchestration.serving.publish import SERVED_SCHEMAS

    served = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] in SERVED_SCHEMAS
    }
    exposures = _exposures(manifest)
    assert served >= MARGIN_MARTS
    assert exposures["serving_duckdb_copy"] == served
    assert exposures["gateway_cap_list"] == {"mart_gateway_caps"}
    assert (
        "llm-margin report"
        in [e for e in manifest["exposures"].values() if e["name"] == "weekly_founder_report"][0][
            "description"
        ]
    )
