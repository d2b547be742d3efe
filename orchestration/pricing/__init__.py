"""Provider prices: the genai-prices catalog exported as flat price rules, and model resolution."""

from dagster import Definitions


def definitions() -> Definitions:
    """The catalog export and the lake's price rules and model resolutions."""
    from orchestration.pricing.assets import (
        lake_model_resolutions,
        lake_price_rules,
        pricing_catalog_export,
    )

    return Definitions(assets=[pricing_catalog_export, lake_price_rules, lake_model_resolutions])
