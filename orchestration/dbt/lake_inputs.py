"""Lake files the dbt project reads that no Dagster asset writes: ``llm-margin plan-calculator``
writes the call shapes, so they appear in the UI as an external asset of the ``lake`` group,
upstream of ``int_call_shapes_priced``, instead of in Dagster's "default" group. (The scenario
rules have their own asset, ``lake/scenario_rules``, in orchestration/scenarios/.)"""

from __future__ import annotations

from dagster import AssetKey, AssetSpec

LAKE_PLAN_CALL_SHAPES = AssetKey(["lake", "plan_call_shapes"])

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
