"""How dbt nodes become Dagster assets: stable keys ``<schema>/<model>`` and groups by layer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster import AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings


class LlmMarginTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)  # honours meta.dagster.asset_key
        return AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # models/<layer>/... → group <layer> (staging, intermediate, marts, audit)
        path = dbt_resource_props.get("original_file_path", "")
        parts = path.split("/")
        return parts[1] if len(parts) > 2 and parts[0] == "models" else None
