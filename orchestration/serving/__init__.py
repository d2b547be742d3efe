"""The serving copy: the marts (and the audit tables a BI user needs) published to a read-only
DuckDB file that is swapped atomically after every successful build, and from it, when
configured, into a PostgreSQL database in one transaction (docs/serving.md)."""

from orchestration.serving.publish import SERVED_SCHEMAS, PublishedCopy, publish_serving_copy

__all__ = ["SERVED_SCHEMAS", "PublishedCopy", "publish_serving_copy"]


def definitions():
    """The serving copy asset and the PostgreSQL serving target."""
    from dagster import Definitions

    from orchestration.serving.assets import serving_copy, serving_postgres

    return Definitions(assets=[serving_copy, serving_postgres])
