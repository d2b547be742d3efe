"""What starts runs without a person: the jobs, the sensors and the schedules (docs/budgets.md,
"Sensors and schedules")."""

from __future__ import annotations

from dagster import Definitions


def definitions() -> Definitions:
    from orchestration.jobs import budget_alerts_job, ingest_and_build_job, weekly_report_job
    from orchestration.rebuild import rebuild_days
    from orchestration.schedules import hourly_incremental_build, weekly_report
    from orchestration.sensors.budgets import budget_threshold_sensor, webhook_outbox_sensor
    from orchestration.sensors.landing import landing_sensor

    return Definitions(
        jobs=[ingest_and_build_job, budget_alerts_job, weekly_report_job, rebuild_days],
        sensors=[budget_threshold_sensor, webhook_outbox_sensor, landing_sensor],
        schedules=[hourly_incremental_build, weekly_report],
    )
