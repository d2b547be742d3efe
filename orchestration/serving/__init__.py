"""The serving copy: the marts (and the audit tables a BI user needs) published to a read-only
DuckDB file that is swapped atomically after every successful build (docs/serving.md)."""

from orchestration.serving.publish import SERVED_SCHEMAS, PublishedCopy, publish_serving_copy

__all__ = ["SERVED_SCHEMAS", "PublishedCopy", "publish_serving_copy"]


def definitions():
    """The serving copy asset."""
    from dagster import Definitions

    from orchestration.serving.assets import serving_copy

    return Definitions(assets=[serving_copy])
