"""How dbt nodes become Dagster assets and checks: stable keys ``<schema>/<model>``, groups by
layer, and a description on every check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dagster import AssetCheckSpec, AssetKey, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from orchestration.dbt.check_descriptions import check_description

if TYPE_CHECKING:
    from dagster_dbt import DbtProject


class LlmMarginTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)  # honours meta.dagster.asset_key
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # The layer, which is the schema and the first part of the asset key: staging,
        # intermediate, marts, audit (models/<layer>/ sets the schema in dbt_project.yml; the
        # seeds sit in staging beside the staged sources). Every other asset is grouped the same
        # way (docs/architecture.md, "In the Dagster UI").
        return dbt_resource_props["schema"]

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        # The node's own description, which every model, seed and source has (tested in
        # tests/test_dbt_docs_site.py), without the raw SQL dagster-dbt appends by default: the
        # Dagster UI's asset lists show the first lines of it, and the SQL is in the dbt docs.
        description = (dbt_resource_props.get("description") or "").strip()
        return (
            description or f"dbt {dbt_resource_props['resource_type']} {dbt_resource_props['name']}"
        )

    def get_asset_check_spec(
        self,
        asset_spec: AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        # dagster-dbt reads only meta.description; dbt 1.11 keeps a test's yml description in
        # the node's own description, and generic tests without one get a plain sentence.
        return AssetCheckSpec(
            spec.name,
            asset=spec.asset_key,
            description=check_description(manifest["nodes"][unique_id], manifest),
            additional_deps=spec.additional_deps,
            blocking=spec.blocking,
            metadata=spec.metadata,
            automation_condition=spec.automation_condition,
            partitions_def=spec.partitions_def,
        )
