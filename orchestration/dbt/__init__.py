"""The dbt project as Dagster assets (dagster-dbt)."""

from dagster import Definitions


def definitions() -> Definitions:
    """Every dbt model as an asset (its data tests as checks), and the dbt resource they use."""
    from orchestration.dbt.assets import llm_margin_dbt_assets
    from orchestration.dbt.lake_inputs import lake_plan_call_shapes
    from orchestration.resources import dbt_resource

    return Definitions(
        assets=[llm_margin_dbt_assets, lake_plan_call_shapes],
        resources={"dbt": dbt_resource()},
    )
