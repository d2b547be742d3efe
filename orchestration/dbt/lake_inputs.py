"""Lake files the dbt project reads that no Dagster asset writes: they are written by commands
(``llm-margin plan-calculator`` writes the call shapes; the scenario loader writes the scenario
rules), so they appear in the UI as external assets of the ``lake`` group, upstream of the
what-if models, instead of in Dagster's "default" group."""

from __future__ import annotations

from dagster import AssetKey, AssetSpec

LAKE_PLAN_CALL_SHAPES = AssetKey(["lake", "plan_call_shapes"])
LAKE_SCENARIO_RULES = AssetKey(["lake", "scenario_rules"])

lake_plan_call_shapes = AssetSpec(
    LAKE_PLAN_CALL_SHAPES,
    description=(
        "The plan calculator's hypothetical calls, $LLM_MARGIN_DATA_DIR/lake/plan_shapes/"
        "call_shapes.parquet, rewritten whole by `llm-margin plan-calculator`; priced by "
        "intermediate/int_call_shapes_priced."
    ),
    group_name="lake",
    kinds={"parquet"},
)

# Until the scenario loader's own asset writes this key (then delete this spec: one key, one asset).
lake_scenario_rules = AssetSpec(
    LAKE_SCENARIO_RULES,
    description=(
        "The rules of every loaded what-if scenario, $LLM_MARGIN_DATA_DIR/lake/scenarios/"
        "scenario_rules.parquet, rewritten whole each time scenarios load; read by "
        "staging/stg_scenarios__rules."
    ),
    group_name="lake",
    kinds={"parquet"},
)
