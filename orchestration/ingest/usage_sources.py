"""Every usage source, loaded into the one usage-event lake in one pass.

* the contract's own files in ``landing/usage_events/`` (the app's emitter writes there too);
* LiteLLM spend logs in ``landing/litellm/`` (exports, and the files each Postgres pull lands);
* OpenTelemetry calls, assembled from the span store (``lake/otel_spans``) per trace.

All three go through ``usage_events.load_records``: one validator, one quarantine, one publish.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from orchestration.ingest.lake import Lake
from orchestration.ingest.sources import litellm
from orchestration.ingest.sources.otel_assemble import DEFAULT_TRACE_WAIT, Assembly, assemble
from orchestration.ingest.usage_events import FileLoad, landing_files, load_landing
from orchestration.ingest.validate import DEFAULT_MAX_FUTURE_HOURS
from orchestration.paths import DataPaths


@dataclass
class UsageLoad:
    """One pass over every usage source: a ``FileLoad`` per unit (file, assembly), in order."""

    loads: list[FileLoad]
    assembly: Assembly

    def by_source(self) -> dict[str, int]:
        """Records loaded per source format (jsonl, csv, parquet, litellm, otlp)."""
        out: dict[str, int] = {}
        for load in self.loads:
            if load.status == "loaded":
                key = load.source_format or "unknown"
                out[key] = out.get(key, 0) + load.records_loaded
        return dict(sorted(out.items()))


def load_usage_sources(
    paths: DataPaths,
    *,
    now: datetime | None = None,
    workers: int | None = None,
    max_future_hours: float = DEFAULT_MAX_FUTURE_HOURS,
    trace_wait: timedelta = DEFAULT_TRACE_WAIT,
    on_file: Callable[[int, int, FileLoad], None] | None = None,
) -> UsageLoad:
    now = now or datetime.now(UTC)
    lake = Lake(paths.lake)
    loads = load_landing(
        paths.landing_for("usage_events"),
        lake,
        now=now,
        on_file=on_file,
        workers=workers,
        max_future_hours=max_future_hours,
    )
    loads += load_landing(
        paths.landing,
        lake,
        now=now,
        on_file=on_file,
        files=landing_files(paths.landing_for("litellm")),
        workers=workers,
        max_future_hours=max_future_hours,
        read=litellm.read_spend_logs,
        source_format=litellm.SOURCE_FORMAT,
    )
    assembly = assemble(paths.lake, now=now, wait=trace_wait, max_future_hours=max_future_hours)
    if assembly.load is not None:
        loads.append(assembly.load)
        if on_file:
            on_file(len(loads), len(loads), assembly.load)
    return UsageLoad(loads, assembly)
