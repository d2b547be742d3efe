"""The one Dagster code location of llm-margin: it only merges what each domain returns.

Each domain package builds its own ``Definitions`` (``definitions()`` in its ``__init__``):
ingestion, pricing, the dbt project, checks, serving, the report, alerts, and the automation
(jobs, sensors, schedules) that starts runs. docs/architecture.md shows how they connect.
"""

from __future__ import annotations

from dagster import Definitions

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
from orchestration.settings import Settings

defs = Definitions.merge(
    ingest.definitions(),
    pricing.definitions(),
    scenarios.definitions(),
    dbt.definitions(),
    checks.definitions(),
    serving.definitions(),
    report.definitions(),
    alerts.definitions(),
    automation.definitions(),
    # one resource holds every setting a run reads (orchestration/settings.py)
    Definitions(resources={"settings": Settings()}),
)
