"""Schedules: the hourly incremental build and the weekly report (UTC)."""

from __future__ import annotations

from dagster import DefaultScheduleStatus, ScheduleDefinition

from orchestration.jobs import ingest_and_build_job, weekly_report_job

hourly_incremental_build = ScheduleDefinition(
    name="hourly_incremental_build",
    job=ingest_and_build_job,
    cron_schedule="0 * * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Every hour: load new landing files and build incrementally (a no-op load when "
    "nothing landed; the landing sensor usually got there first).",
)

weekly_report = ScheduleDefinition(
    name="weekly_report",
    job=weekly_report_job,
    cron_schedule="0 7 * * 1",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
    description="Mondays 07:00 UTC: the weekly founder report (reports/founder_report).",
)
