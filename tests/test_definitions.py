"""The Dagster code location loads, and lineage runs unbroken from landing files to the marts."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from dagster import AssetKey

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# What the Dagster UI or a careless default shows instead of a description.
PLACEHOLDERS = {"", "no description provided", "todo", "tbd", "n/a", "none", "description"}


def test_definitions_load_with_lineage_from_landing_to_marts(data_dir):
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = set(graph.get_all_asset_keys())
    landing = AssetKey(["landing", "usage_events"])
    lake = AssetKey(["lake", "usage_events"])
    staging = AssetKey(["staging", "stg_usage__events"])
    summary = AssetKey(["marts", "mart_customer_usage_summary"])
    quarantine_view = AssetKey(["audit", "quarantined_usage_events"])
    assert {landing, lake, staging, summary, quarantine_view} <= keys

    assert landing in graph.get(lake).parent_keys
    assert AssetKey(["staging", "base_usage__event_versions"]) in graph.get(staging).parent_keys
    assert lake in graph.get(AssetKey(["staging", "base_usage__event_versions"])).parent_keys
    assert AssetKey(["lake", "usage_events_quarantine"]) in graph.get(quarantine_view).parent_keys
    calls = AssetKey(["marts", "fct_llm_calls"])
    assert calls in graph.get(summary).parent_keys
    assert staging in graph.get(calls).parent_keys


def test_dbt_tests_and_ingest_checks_are_asset_checks(data_dir):
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert ("lake/usage_events", "records_reconcile") in checks
    assert ("staging/stg_usage__events", "unique_stg_usage__events_event_id") in checks
    blocking = {
        (key.asset_key.to_user_string(), key.name)
        for key in graph.asset_check_keys
        if graph.get_check_spec(key).blocking
    }
    assert ("lake/usage_events", "records_reconcile") in blocking


def test_dbt_assets_are_grouped_by_layer(data_dir):
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    assert graph.get(AssetKey(["staging", "stg_usage__events"])).group_name == "staging"
    assert graph.get(AssetKey(["marts", "mart_customer_usage_summary"])).group_name == "marts"
    assert graph.get(AssetKey(["audit", "usage_event_file_loads"])).group_name == "audit"
    # a seed is grouped with the layer it sits in, not in Dagster's "default"
    assert graph.get(AssetKey(["staging", "configured_budgets"])).group_name == "staging"


def test_every_asset_is_in_the_group_of_its_layer(data_dir):
    """Groups are layers (landing, lake, staging, intermediate, marts, audit, serving, reports),
    and an asset's layer is the first part of its key: nothing lands in Dagster's "default"."""
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    misplaced = {
        key.to_user_string(): graph.get(key).group_name
        for key in keys
        if graph.get(key).group_name != key.path[0]
    }
    assert not misplaced
    groups = {graph.get(key).group_name for key in keys}
    assert "default" not in groups
    assert {"landing", "lake", "staging", "marts", "audit", "serving", "reports"} <= groups


def test_every_check_says_what_it_checks(data_dir):
    """No check in the UI reads "No description provided": dbt tests included."""
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    undescribed = sorted(
        key.to_user_string()
        for key in graph.asset_check_keys
        if (graph.get_check_spec(key).description or "").strip().rstrip(".").lower()
        in PLACEHOLDERS | {key.name.lower()}
    )
    assert not undescribed, f"{len(undescribed)} checks without a description: {undescribed}"

    def description(asset: str, name: str) -> str:
        return graph.get_check_spec(
            next(
                key
                for key in graph.asset_check_keys
                if (key.asset_key.to_user_string(), key.name) == (asset, name)
            )
        ).description

    # a generic dbt test without a description of its own reads as a sentence about its column
    # (the tests of the tables that grow with events say they read only the rebuilt days on an
    # incremental run: docs/data-quality.md)
    scoped = (
        " On an incremental run, checked on the days it rebuilt (`event_date` from the first"
        " rebuilt day); on a full build, on every row."
    )
    assert description("marts/fct_llm_calls", "not_null_fct_llm_calls_event_id") == (
        "`event_id` is never null." + scoped
    )
    assert description(
        "marts/fct_llm_calls", "relationships_fct_llm_calls_task_id__task_id__ref_fct_tasks_"
    ) == ("Every non-null `task_id` exists in fct_tasks." + scoped)
    assert description("marts/dim_customers", "not_null_dim_customers_customer_id") == (
        "`customer_id` is never null."
    )


def test_singular_dbt_tests_are_checks_described_in_their_yml(data_dir):
    """Every singular test in tests/dbt/ is an asset check (those reading several models are
    attached to one with meta.dagster.ref), described by its entry in _singular__tests.yml."""
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    checks = {key.name: key for key in graph.asset_check_keys}
    singular = {
        path.stem
        for path in (PROJECT_ROOT / "tests" / "dbt").rglob("*.sql")
        if "generic" not in path.parts
    }
    assert singular and not singular - set(checks), singular - set(checks)
    documented = yaml.safe_load((PROJECT_ROOT / "tests/dbt/_singular__tests.yml").read_text())
    written = {
        entry["name"]: " ".join(entry["description"].split()) for entry in documented["data_tests"]
    }
    assert set(written) == singular
    for name, text in written.items():
        assert graph.get_check_spec(checks[name]).description == text, name
    assert checks["assert_customer_month_costs_the_same_everywhere"].asset_key == AssetKey(
        ["marts", "mart_budget_status"]
    )
    assert checks["assert_route_marts_agree_with_tasks"].asset_key == AssetKey(
        ["marts", "mart_route_fallbacks_weekly"]
    )


def _report_exposure_keys() -> set[AssetKey]:
    from orchestration.dbt.assets import model_key
    from orchestration.dbt.project import llm_margin_project, parse_project

    parse_project()
    manifest = json.loads(llm_margin_project.manifest_path.read_text())
    [report] = [
        exposure
        for exposure in manifest["exposures"].values()
        if exposure["name"] == "weekly_founder_report"
    ]
    return {model_key(node.split(".")[-1]) for node in report["depends_on"]["nodes"]}


def test_every_asset_a_report_or_the_serving_copy_reads_has_a_check(data_dir):
    """The serving copy reads every relation of marts and audit (dbt's and the alert record);
    the weekly report reads the models of its exposure; and whatever a serving or report asset
    depends on in the graph. Each of those has at least one check."""
    from orchestration.definitions import defs
    from orchestration.serving.publish import SERVED_SCHEMAS

    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    read = {key for key in keys if key.path[0] in SERVED_SCHEMAS}
    read |= _report_exposure_keys()
    for key in keys:
        if graph.get(key).group_name in ("serving", "reports"):
            read |= set(graph.get(key).parent_keys)
    assert {
        AssetKey(["marts", "mart_route_fallbacks_weekly"]),
        AssetKey(["marts", "mart_route_transitions_weekly"]),
        AssetKey(["audit", "budget_alerts"]),
        AssetKey(["serving", "llm_margin"]),
    } <= read
    checked = {key.asset_key for key in graph.asset_check_keys}
    unchecked = sorted(key.to_user_string() for key in read - checked)
    assert not unchecked, f"read by the serving copy or the report without a check: {unchecked}"


def test_pricing_lineage_runs_from_the_catalog_export_to_the_call_costs(data_dir):
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    catalog = AssetKey(["landing", "pricing_catalog"])
    rules = AssetKey(["lake", "price_rules"])
    resolutions = AssetKey(["lake", "model_resolutions"])
    assert catalog in graph.get(rules).parent_keys
    assert AssetKey(["lake", "usage_events"]) in graph.get(resolutions).parent_keys
    assert rules in graph.get(AssetKey(["staging", "stg_pricing__price_rules"])).parent_keys
    assert (
        resolutions
        in graph.get(AssetKey(["staging", "stg_pricing__model_resolutions"])).parent_keys
    )
    priced = AssetKey(["intermediate", "int_llm_calls_priced"])
    assert priced in graph.get(AssetKey(["marts", "fct_llm_calls"])).parent_keys
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert ("marts/mart_unpriced_usage", "no_unpriced_usage") in checks
    assert ("lake/price_rules", "every_pricing_file_loaded") in checks


def test_every_dbt_source_has_its_own_table_name():
    """On Spark every source is a table in the one `lake` schema: two sources with one name would
    silently read each other's files."""
    import json

    from orchestration.dbt.project import llm_margin_project, parse_project

    parse_project()
    manifest = json.loads(llm_margin_project.manifest_path.read_text())
    tables = [(s["schema"], s["identifier"]) for s in manifest["sources"].values()]
    assert len(tables) == len(set(tables)), sorted(t for t in tables if tables.count(t) > 1)


def test_data_quality_checks_are_asset_checks_on_the_key_assets(data_dir):
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    checks = {(key.asset_key.to_user_string(), key.name): key for key in graph.asset_check_keys}

    def blocking(asset: str, name: str) -> bool:
        return graph.get_check_spec(checks[(asset, name)]).blocking

    # Great Expectations on every raw batch kind: money-protecting expectations block
    for asset, suite in (
        ("lake/usage_events", "usage_events"),
        ("lake/price_rules", "pricing_exports"),
        ("lake/billing_plans", "billing_exports"),
        ("lake/billing_invoices", "billing_exports"),
        ("lake/provider_invoices", "provider_invoices"),
    ):
        assert blocking(asset, f"gx_{suite}"), asset
        assert not blocking(asset, f"gx_{suite}_warnings"), asset
    # source freshness of the lake, from the dbt YAML
    for asset in ("lake/usage_events", "lake/price_rules", "lake/billing_invoices"):
        assert (asset, "source_freshness") in checks
    # reconciliation across layers and arithmetic invariants (dbt tests → asset checks)
    expected = {
        ("staging/stg_usage__events", "assert_every_lake_event_is_in_staging"),
        ("staging/stg_usage__events", "unique_stg_usage__events_event_id"),
        ("marts/fct_tasks", "assert_task_cost_equals_call_cost"),
        (
            "marts/mart_provider_reconciliation",
            "assert_provider_reconciliation_reconciles_with_calls_and_invoices",
        ),
        ("marts/mart_provider_reconciliation", "provider_costs_reconcile"),
        (
            "marts/mart_feature_unit_economics",
            "assert_feature_unit_economics_successful_tasks_within_tasks",
        ),
        (
            "staging/stg_provider_invoices__lines",
            "unique_stg_provider_invoices__lines_invoice_line_id",
        ),
    }
    assert expected <= set(checks), expected - set(checks)
    assert any(
        asset == "audit/usage_event_file_loads" and name.startswith("expression_is_true")
        for asset, name in checks
    )
    assert not blocking("marts/mart_provider_reconciliation", "provider_costs_reconcile")


def test_each_domain_contributes_its_own_definitions_and_the_report_is_an_asset(data_dir):
    """definitions.py only merges: every asset comes from one domain's definitions(), and the
    weekly report is an asset downstream of the serving copy it reads."""
    from orchestration import (
        alerts,
        automation,
        checks,
        dbt,
        ingest,
        pricing,
        report,
        scenarios,
        serving,
    )
    from orchestration.definitions import defs

    domains = [ingest, pricing, scenarios, dbt, checks, serving, report, alerts]
    owners: dict[AssetKey, str] = {}
    for domain in domains:
        for asset in domain.definitions().assets or []:
            keys = asset.keys if hasattr(asset, "keys") else {asset.key}
            for key in keys:
                assert key not in owners, f"{key} defined by {owners[key]} and {domain.__name__}"
                owners[key] = domain.__name__
    graph = defs.resolve_asset_graph()
    all_keys = set(graph.get_all_asset_keys())
    materializable = {key for key in all_keys if graph.get(key).is_materializable}
    assert materializable <= set(owners) <= all_keys

    founder_report = AssetKey(["reports", "founder_report"])
    assert owners[founder_report] == "orchestration.report"
    assert AssetKey(["serving", "llm_margin"]) in graph.get(founder_report).parent_keys
    assert {s.name for s in automation.definitions().sensors} >= {"landing_sensor"}


def test_dbt_assets_show_their_yml_description_without_raw_sql(data_dir):
    from orchestration.dbt.project import llm_margin_project
    from orchestration.definitions import defs

    manifest = json.loads(llm_margin_project.manifest_path.read_text())
    graph = defs.resolve_asset_graph()
    calls = manifest["nodes"]["model.llm_margin.fct_llm_calls"]
    shown = graph.get(AssetKey(["marts", "fct_llm_calls"])).description
    assert shown == calls["description"].strip()
    dbt_keys = [
        AssetKey([node["schema"], node["name"]])
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "seed")
        # an ephemeral model is no relation, so no asset: it is inlined into the models reading it
        and node["config"]["materialized"] != "ephemeral"
    ]
    for key in dbt_keys:
        description = graph.get(key).description
        assert "Raw SQL" not in description and "select" not in description.lower().split(), key
