"""Every setting a run reads, in one place: the ``settings`` resource of the code location.

Each field is set in the resource's config (the Dagster launchpad, or a deployment's own
``Definitions``) or, when left unset, read from its environment variable when the run reads it;
the variables and defaults are listed in ``ENVIRONMENT`` and in docs/data-directory.md. Nothing
else in the code location reads these variables: assets ask the resource.

Reading unset fields at run time, not when the code location loads, keeps one long-lived
process (``make dagster``, a test session) right when the environment of a run differs from the
one it started with.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from orchestration.ingest.validate import DEFAULT_MAX_FUTURE_HOURS
from orchestration.paths import (
    DATA_DIR_ENV,
    SCENARIOS_DIR_ENV,
    DataPaths,
    data_paths,
    scenarios_dir,
)

MAX_FUTURE_HOURS_ENV = "LLM_MARGIN_MAX_FUTURE_HOURS"
INGEST_WORKERS_ENV = "LLM_MARGIN_INGEST_WORKERS"
WEBHOOK_URL_ENV = "LLM_MARGIN_ALERT_WEBHOOK_URL"
DBT_UNIT_TESTS_ENV = "LLM_MARGIN_DBT_UNIT_TESTS"
DBT_EXCLUDE_ENV = "LLM_MARGIN_DBT_EXCLUDE"
LITELLM_DATABASE_URL_ENV = "LLM_MARGIN_LITELLM_DATABASE_URL"
LITELLM_OVERLAP_ENV = "LLM_MARGIN_LITELLM_OVERLAP_MINUTES"
OTEL_TRACE_WAIT_ENV = "LLM_MARGIN_OTEL_TRACE_WAIT_MINUTES"
AS_OF_DATE_ENV = "LLM_MARGIN_AS_OF_DATE"
# The latest day with calls: the as-of date is the day after it.
LATEST_CALL_DATE_SQL = "select max(event_date) from marts.fct_llm_calls"
SERVING_POSTGRES_URL_ENV = "LLM_MARGIN_SERVING_POSTGRES_URL"
SERVING_POSTGRES_READER_ENV = "LLM_MARGIN_SERVING_POSTGRES_READER_ROLE"
DEFAULT_SERVING_POSTGRES_READER = "llm_margin_reader"
DEFAULT_LITELLM_OVERLAP_MINUTES = 60.0
DEFAULT_OTEL_TRACE_WAIT_MINUTES = 60.0

ENVIRONMENT = {
    "data_dir": (DATA_DIR_ENV, "<project>/data"),
    "max_future_hours": (MAX_FUTURE_HOURS_ENV, str(DEFAULT_MAX_FUTURE_HOURS)),
    "ingest_workers": (INGEST_WORKERS_ENV, "one per core"),
    "alert_webhook_url": (WEBHOOK_URL_ENV, "none: alerts wait in the outbox"),
    "dbt_unit_tests": (DBT_UNIT_TESTS_ENV, "0: unit tests run in make test, not in builds"),
    "dbt_exclude": (DBT_EXCLUDE_ENV, "nothing excluded"),
    "litellm_database_url": (
        LITELLM_DATABASE_URL_ENV,
        "none: no pull (exports in landing/litellm still load)",
    ),
    "litellm_overlap_minutes": (LITELLM_OVERLAP_ENV, f"{DEFAULT_LITELLM_OVERLAP_MINUTES:g}"),
    "otel_trace_wait_minutes": (OTEL_TRACE_WAIT_ENV, f"{DEFAULT_OTEL_TRACE_WAIT_MINUTES:g}"),
    "serving_postgres_url": (
        SERVING_POSTGRES_URL_ENV,
        "none: the marts are served in the DuckDB file only",
    ),
    "serving_postgres_reader_role": (
        SERVING_POSTGRES_READER_ENV,
        DEFAULT_SERVING_POSTGRES_READER,
    ),
    "scenarios_dir": (SCENARIOS_DIR_ENV, "<project>/scenarios"),
}


class SettingsError(ValueError):
    """A setting whose value cannot be used; the message names the setting and its variable."""


REPORTING_CURRENCY_ENV = "LLM_MARGIN_REPORTING_CURRENCY"


def reporting_currency(environ: Mapping[str, str] | None = None) -> str:
    """The currency margins are reported in: USD, the only one accepted for now (dbt's
    ``reporting_currency()`` macro refuses the same values; docs/currencies.md)."""
    raw = (os.environ if environ is None else environ).get(REPORTING_CURRENCY_ENV, "")
    code = raw.strip().upper() or "USD"
    if code != "USD":
        raise SettingsError(
            f"{REPORTING_CURRENCY_ENV} is {code}, but only USD can be reported for now: AI costs "
            f"are billed in USD and are not converted, so a margin in {code} would subtract "
            f"dollars from {code} (docs/currencies.md). Unset it or set USD."
        )
    return code


def max_future_hours(environ: Mapping[str, str] | None = None) -> float:
    raw = (os.environ if environ is None else environ).get(MAX_FUTURE_HOURS_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_FUTURE_HOURS
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(
            f"{MAX_FUTURE_HOURS_ENV} must be a number of hours, got {raw!r}"
        ) from None


def as_of_date(
    query: Callable[[str], list[tuple]], environ: Mapping[str, str] | None = None
) -> date:
    """The day checks and reports treat as today ("yesterday" is the day before it):
    ``$LLM_MARGIN_AS_OF_DATE`` (YYYY-MM-DD) when set, else the day after the latest call in
    ``marts.fct_llm_calls`` (data can be in the past), else today's UTC date. ``query`` runs SQL
    on the warehouse or its serving copy and returns the rows."""
    raw = (os.environ if environ is None else environ).get(AS_OF_DATE_ENV, "").strip()
    if raw:
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise SettingsError(
                f"{AS_OF_DATE_ENV} must be a date YYYY-MM-DD, got {raw!r}"
            ) from None
    latest = query(LATEST_CALL_DATE_SQL)[0][0]
    return latest + timedelta(days=1) if latest is not None else datetime.now(UTC).date()


def minutes(name: str, default: float, environ: Mapping[str, str] | None = None) -> float:
    """A duration in minutes from the environment variable ``name``: a number, 0 or more."""
    raw = (os.environ if environ is None else environ).get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of minutes, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must be 0 or more minutes, got {raw!r}")
    return value


def ingest_workers(environ: Mapping[str, str] | None = None) -> int:
    """Files loaded at once: one per core by default (one file's validation uses about one core)."""
    raw = (os.environ if environ is None else environ).get(INGEST_WORKERS_ENV, "").strip()
    if not raw:
        return max(1, os.cpu_count() or 1)
    try:
        workers = int(raw)
    except ValueError:
        raise SettingsError(f"{INGEST_WORKERS_ENV} must be a whole number, got {raw!r}") from None
    if workers < 1:
        raise SettingsError(f"{INGEST_WORKERS_ENV} must be 1 or more, got {workers}")
    return workers


class Settings(ConfigurableResource):
    """The settings of llm-margin runs. Unset fields come from the environment (``ENVIRONMENT``)."""

    data_dir: str | None = Field(
        default=None, description=f"The data directory (else ${DATA_DIR_ENV}, else ./data)."
    )
    max_future_hours: float | None = Field(
        default=None,
        description="How far in the future an event's timestamp may be before it is quarantined "
        f"(else ${MAX_FUTURE_HOURS_ENV}, else {DEFAULT_MAX_FUTURE_HOURS:g}).",
    )
    ingest_workers: int | None = Field(
        default=None,
        description=f"Landing files loaded at once (else ${INGEST_WORKERS_ENV}, else one per core).",
    )
    alert_webhook_url: str | None = Field(
        default=None,
        description=f"Where budget alerts are posted (else ${WEBHOOK_URL_ENV}, else nowhere: they "
        "wait in the outbox).",
    )
    dbt_unit_tests: bool | None = Field(
        default=None,
        description=f"Run dbt unit tests in builds too (else ${DBT_UNIT_TESTS_ENV}=1, else no).",
    )
    dbt_exclude: str | None = Field(
        default=None,
        description=f"A dbt selection to leave out of builds (else ${DBT_EXCLUDE_ENV}).",
    )

    litellm_database_url: str | None = Field(
        default=None,
        description=f"The LiteLLM proxy's PostgreSQL, to pull its spend logs from (else "
        f"${LITELLM_DATABASE_URL_ENV}, else no pull).",
    )
    litellm_overlap_minutes: float | None = Field(
        default=None,
        description=f"How far before the newest row pulled a LiteLLM pull reads again, for rows "
        f"committed late (else ${LITELLM_OVERLAP_ENV}, else {DEFAULT_LITELLM_OVERLAP_MINUTES:g}).",
    )
    otel_trace_wait_minutes: float | None = Field(
        default=None,
        description=f"How long a trace whose parent spans have not arrived waits before its calls "
        f"are assembled anyway (else ${OTEL_TRACE_WAIT_ENV}, else {DEFAULT_OTEL_TRACE_WAIT_MINUTES:g}).",
    )

    serving_postgres_url: str | None = Field(
        default=None,
        description=f"A PostgreSQL database the marts and audit tables are published into after "
        f"each build, for BI tools that speak only PostgreSQL (else ${SERVING_POSTGRES_URL_ENV}, "
        "else not published; docs/serving.md).",
    )
    serving_postgres_reader_role: str | None = Field(
        default=None,
        description=f"The role granted read-only access to the published tables (else "
        f"${SERVING_POSTGRES_READER_ENV}, else {DEFAULT_SERVING_POSTGRES_READER}).",
    )

    scenarios_dir: str | None = Field(
        default=None,
        description=f"The folder of what-if scenario files loaded into the lake (else "
        f"${SCENARIOS_DIR_ENV}, else <project>/scenarios).",
    )

    def scenarios(self) -> Path:
        if self.scenarios_dir:
            return Path(self.scenarios_dir).expanduser().resolve()
        return scenarios_dir()

    def serving_postgres(self) -> str | None:
        if self.serving_postgres_url is not None:
            return self.serving_postgres_url.strip() or None
        return os.environ.get(SERVING_POSTGRES_URL_ENV, "").strip() or None

    def serving_postgres_reader(self) -> str:
        role = self.serving_postgres_reader_role
        if role is None:
            role = os.environ.get(SERVING_POSTGRES_READER_ENV, "")
        role = role.strip() or DEFAULT_SERVING_POSTGRES_READER
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
            raise SettingsError(
                f"the serving reader role ({SERVING_POSTGRES_READER_ENV}) must be a lower-case "
                f"PostgreSQL name (letters, digits, _; at most 63), got {role!r}"
            )
        return role

    def litellm_url(self) -> str | None:
        if self.litellm_database_url is not None:
            return self.litellm_database_url or None
        return os.environ.get(LITELLM_DATABASE_URL_ENV, "").strip() or None

    def litellm_overlap(self) -> float:
        if self.litellm_overlap_minutes is not None:
            return self.litellm_overlap_minutes
        return minutes(LITELLM_OVERLAP_ENV, DEFAULT_LITELLM_OVERLAP_MINUTES)

    def otel_trace_wait(self) -> float:
        if self.otel_trace_wait_minutes is not None:
            return self.otel_trace_wait_minutes
        return minutes(OTEL_TRACE_WAIT_ENV, DEFAULT_OTEL_TRACE_WAIT_MINUTES)

    def paths(self) -> DataPaths:
        if self.data_dir:
            return DataPaths(Path(self.data_dir).expanduser().resolve()).ensure()
        return data_paths().ensure()

    def future_hours(self) -> float:
        return self.max_future_hours if self.max_future_hours is not None else max_future_hours()

    def workers(self) -> int:
        if self.ingest_workers is not None:
            if self.ingest_workers < 1:
                raise SettingsError(f"ingest_workers must be 1 or more, got {self.ingest_workers}")
            return self.ingest_workers
        return ingest_workers()

    def webhook_url(self) -> str | None:
        if self.alert_webhook_url is not None:
            return self.alert_webhook_url or None
        return os.environ.get(WEBHOOK_URL_ENV) or None

    def dbt_build_args(self) -> list[str]:
        """The ``dbt build`` arguments: unit tests left out unless asked for, and the exclusion."""
        unit_tests = self.dbt_unit_tests
        if unit_tests is None:
            unit_tests = os.environ.get(DBT_UNIT_TESTS_ENV, "").strip() == "1"
        exclude = (
            self.dbt_exclude if self.dbt_exclude is not None else os.environ.get(DBT_EXCLUDE_ENV)
        )
        args = ["build"]
        if not unit_tests:
            args += ["--exclude-resource-type", "unit_test"]
        if exclude:
            args += ["--exclude", exclude]
        return args
