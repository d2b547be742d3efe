"""Re-run or backfill days: a job partitioned by day that rebuilds the event-grain models for the
days it is given, and everything downstream of them.

In the Dagster UI, open the job ``rebuild_days`` and launch one partition (a day), or a backfill
over a range (one run per day, queued through the one writer pool): each run passes its days to dbt as the vars ``rebuild_from`` / ``rebuild_to``, and
the incremental models re-derive every event and every price of those days whatever changed
(macros/rebuild_window.sql), then every model above them follows. The serving copy is published
again afterwards. The dbt models' asset keys record each run's materializations and check
results, so the asset graph shows what a day's rebuild did. Why a partitioned job and not
partitioned assets: DECISIONLOG.md "Days are re-run through a partitioned job".
"""

import json
import os
from datetime import date

from dagster import (
    AssetMaterialization,
    DailyPartitionsDefinition,
    OpExecutionContext,
    job,
    op,
)
from dagster_dbt import DbtCliResource

from orchestration.data_lock import writer_step
from orchestration.dbt.project import llm_margin_project
from orchestration.dbt.translator import LlmMarginTranslator
from orchestration.ingest.validate import EARLIEST_PLAUSIBLE
from orchestration.paths import DATA_DIR_ENV, DEFAULT_DBT_TARGET
from orchestration.pools import WAREHOUSE_POOL
from orchestration.serving.assets import SERVING_ASSET_KEY, serving_copy_metadata
from orchestration.serving.publish import publish_serving_copy
from orchestration.settings import Settings

# Any day the lake can hold (the validator quarantines events before it), up to today (UTC).
daily_partitions = DailyPartitionsDefinition(start_date=EARLIEST_PLAUSIBLE, end_offset=1)

# The first event-grain models: they choose what to rebuild from their inputs; the rest follow.
REBUILD_SELECTION = "stg_usage__events+"


def rebuild_vars(first_day: str, last_day: str) -> dict[str, str]:
    """The dbt vars for a window of days (YYYY-MM-DD, inclusive, in either order)."""
    try:
        days = sorted(date.fromisoformat(day) for day in (first_day, last_day))
    except ValueError:
        raise ValueError(f"days must be YYYY-MM-DD, got {first_day!r} and {last_day!r}") from None
    if days[0] < date.fromisoformat(EARLIEST_PLAUSIBLE):
        raise ValueError(f"{days[0]} is before {EARLIEST_PLAUSIBLE}, the first day the lake holds")
    return {"rebuild_from": days[0].isoformat(), "rebuild_to": days[-1].isoformat()}


def rebuild_args(settings: Settings, first_day: str, last_day: str) -> list[str]:
    """``dbt build`` of the event-grain models and everything downstream, for those days."""
    window = json.dumps(rebuild_vars(first_day, last_day))
    return [*settings.dbt_build_args(), "--select", REBUILD_SELECTION, "--vars", window]


@op(
    out={},  # it records materializations of the dbt models and the serving copy, no output
    pool=WAREHOUSE_POOL,
    description="dbt build of the event-grain models and everything downstream for the run's "
    "days (vars rebuild_from/rebuild_to), then the serving copy.",
)
@writer_step
def rebuild_days_op(context: OpExecutionContext, dbt: DbtCliResource, settings: Settings):
    window = context.partition_key_range
    paths = settings.paths()
    context.log.info(f"rebuilding {window.start} to {window.end}")
    os.environ[DATA_DIR_ENV] = str(paths.root)  # dbt, a subprocess, reads it
    yield from dbt.cli(
        rebuild_args(settings, window.start, window.end),
        manifest=llm_margin_project.manifest_path,
        dagster_dbt_translator=LlmMarginTranslator(),
        context=context,
    ).stream()
    if llm_margin_project.target == DEFAULT_DBT_TARGET:
        copy = publish_serving_copy(paths.warehouse, paths.serving, log=context.log.info)
        yield AssetMaterialization(
            asset_key=SERVING_ASSET_KEY,
            metadata={
                **serving_copy_metadata(copy),
                "rebuilt_days": f"{window.start}..{window.end}",
            },
        )


@job(
    partitions_def=daily_partitions,
    description="Re-run or backfill days: the event-grain models and everything downstream for "
    "the chosen days, whatever changed (orchestration/rebuild.py).",
)
def rebuild_days():
    rebuild_days_op()
