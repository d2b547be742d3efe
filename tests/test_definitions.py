"""The Dagster code location loads, and lineage runs unbroken from landing files to the marts."""

from __future__ import annotations

from dagster import AssetKey


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
    assert staging in graph.get(summary).parent_keys


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
    from orchestration import alerts, automation, checks, dbt, ingest, pricing, report, serving
    from orchestration.definitions import defs

    domains = [ingest, pricing, dbt, checks, serving, report, alerts]
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
