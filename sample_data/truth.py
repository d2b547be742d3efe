"""The answer key, written beside the landing files (never under ``landing/``).

* ``events.parquet``: one row per record written, with its file and 1-based line (JSON Lines:
  every physical line; CSV: data row, header excluded; Parquet: row).
* ``tasks.parquet``: one row per real task.
* ``provider_costs.parquet``: computed vs billed provider cost per provider, month and model.
* ``provider_report_gaps.parquet``: per provider, UTC day and model of the providers' daily
  reports (OpenAI, Anthropic), our and the reported tokens and cost, the planted gap and the
  cause the daily reconciliation should name (``provider_reports.gap_rows``).
* ``revenue.parquet``: the revenue the billing side was planned to carry, per customer,
  service month and invoice currency (``sample_data/revenue.py``): ``revenue`` (paid and open
  invoices, less credit notes and refunds), ``revenue_open`` (the part not yet paid),
  ``uncollectible`` (billed, written off; not revenue), in minor units (``*_minor``) and in major
  units (decimal).
* ``summary.json``: counts and the parameters of the run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import catalog as cat
from .faults import FAULTS
from .frames import NULL, Frame, length
from .ids import render_ids
from .records import KINDS, MALFORMED, OK, STREAM_FINAL, STREAM_START

EVENTS_SCHEMA = pa.schema(
    [
        ("file", pa.string()),
        ("file_format", pa.string()),
        ("file_date", pa.date32()),
        ("line", pa.int64()),
        ("event_id", pa.string()),
        ("task_id", pa.string()),
        ("attempt", pa.int64()),
        ("kind", pa.string()),
        ("fault", pa.string()),
        ("is_late", pa.bool_()),
        ("has_extra_fields", pa.bool_()),
        ("is_incomplete_stream", pa.bool_()),
        ("occurred_at", pa.timestamp("ms", tz="UTC")),
    ]
)

TASKS_SCHEMA = pa.schema(
    [
        ("task_id", pa.string()),
        ("has_task_id", pa.bool_()),
        ("customer_id", pa.string()),
        ("workspace_id", pa.string()),
        ("feature", pa.string()),
        ("user_id", pa.string()),
        ("first_event_id", pa.string()),
        ("last_event_id", pa.string()),
        ("attempts", pa.int64()),
        ("retry_attempts", pa.int64()),
        ("fallback_attempts", pa.int64()),
        ("original_route", pa.string()),
        ("final_route", pa.string()),
        ("final_status", pa.string()),
        ("outcome", pa.string()),
        ("is_successful", pa.bool_()),
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("started_at", pa.timestamp("ms", tz="UTC")),
        ("ended_at", pa.timestamp("ms", tz="UTC")),
        ("is_runaway", pa.bool_()),
        ("is_trial", pa.bool_()),
        ("has_tagless_attempt", pa.bool_()),
        ("has_malformed_record", pa.bool_()),
        ("has_unpriced_attempt", pa.bool_()),  # a call served by a model we cannot price
        ("provider_cost_usd", pa.float64()),
    ]
)

PROVIDER_REPORT_GAPS_SCHEMA = pa.schema(
    [
        ("provider", pa.string()),
        ("day", pa.date32()),
        ("model", pa.string()),  # as the provider reports it (OpenAI: the dated snapshot)
        ("our_model", pa.string()),  # as our usage events log it
        ("planted", pa.string()),  # the planted gap (a likely cause) or null
        ("expected_cause", pa.string()),
        ("our_calls", pa.int64()),
        ("reported_requests", pa.int64()),  # null for Anthropic: its report has no count
        ("provider_requests", pa.int64()),  # what the provider served (Anthropic too)
        ("our_input_tokens", pa.int64()),
        ("reported_input_tokens", pa.int64()),
        ("our_cache_read_tokens", pa.int64()),
        ("reported_cache_read_tokens", pa.int64()),
        ("our_cache_write_tokens", pa.int64()),
        ("reported_cache_write_tokens", pa.int64()),
        ("our_output_tokens", pa.int64()),
        ("reported_output_tokens", pa.int64()),
        ("our_batch_input_tokens", pa.int64()),
        ("reported_batch_input_tokens", pa.int64()),
        ("our_cost_usd", pa.float64()),
        ("reported_cost_usd", pa.float64()),
        ("quarantined_calls", pa.int64()),
        ("quarantined_input_tokens", pa.int64()),
        ("quarantined_output_tokens", pa.int64()),
        ("quarantined_cost_usd", pa.float64()),
        ("quarantined_faults", pa.string()),  # the planted faults of those calls, comma-separated
        ("open_stream_calls", pa.int64()),
    ]
)


REVENUE_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("service_month", pa.date32()),
        ("currency", pa.string()),
        ("revenue_minor", pa.int64()),
        ("open_minor", pa.int64()),
        ("uncollectible_minor", pa.int64()),
        ("revenue", pa.decimal128(18, 2)),
        ("revenue_open", pa.decimal128(18, 2)),
        ("uncollectible", pa.decimal128(18, 2)),
    ]
)


class Truth:
    """Streams truth rows to Parquet and keeps the counters for ``summary.json``."""

    def __init__(self, directory: Path, event_key: int, task_key: int, ids) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.event_key = event_key
        self.task_key = task_key
        self.ids = ids
        self.paths = {
            "events": directory / "events.parquet",
            "tasks": directory / "tasks.parquet",
            "provider_costs": directory / "provider_costs.parquet",
            "provider_report_gaps": directory / "provider_report_gaps.parquet",
            "revenue": directory / "revenue.parquet",
            "summary": directory / "summary.json",
        }
        self._events = pq.ParquetWriter(self.paths["events"], EVENTS_SCHEMA, compression="zstd")
        self._tasks = pq.ParquetWriter(self.paths["tasks"], TASKS_SCHEMA, compression="zstd")
        self.counts: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.formats: Counter[str] = Counter()
        self.records_by_format: Counter[str] = Counter()

    # -- records -------------------------------------------------------------------------------
    def add_file(self, name: str, fmt: str, day: dt.date, records: Frame) -> None:
        n = length(records)
        kind = records["kind"]
        fault = records["fault"]
        table = pa.table(
            {
                "file": pa.array([name] * n, pa.string()),
                "file_format": pa.array([fmt] * n, pa.string()),
                "file_date": pa.array([day] * n, pa.date32()),
                "line": pa.array(np.arange(1, n + 1, dtype=np.int64)),
                "event_id": render_ids(records["true_ev"], "evt_", self.event_key),
                "task_id": render_ids(records["true_task"], "task_", self.task_key),
                "attempt": pa.array(
                    records["true_attempt"], mask=records["true_attempt"] < 0, type=pa.int64()
                ),
                "kind": pa.array(np.array(KINDS)[kind]),
                "fault": pa.array(np.array(FAULTS)[np.maximum(fault, 0)], mask=fault < 0),
                "is_late": pa.array(records["is_late"]),
                "has_extra_fields": pa.array(records["extra"] > 0),
                "is_incomplete_stream": pa.array(records["incomplete"] & (kind == STREAM_START)),
                "occurred_at": pa.array(
                    records["true_occ_ms"], mask=records["true_occ_ms"] == NULL, type=pa.int64()
                ).cast(pa.timestamp("ms", tz="UTC")),
            },
            schema=EVENTS_SCHEMA,
        )
        self._events.write_table(table)
        self.formats[fmt] += 1
        self.records_by_format[fmt] += n
        self.counts["records"] += n
        for code, label in enumerate(KINDS):
            self.counts[f"kind:{label}"] += int((kind == code).sum())
        for code, label in enumerate(FAULTS):
            hits = int((fault == code).sum())
            if hits:
                self.faults[label] += hits
        self.counts["late"] += int(records["is_late"].sum())
        self.counts["extra_field_records"] += int((records["extra"] > 0).sum())
        self.counts["incomplete_streams"] += int(
            (records["incomplete"] & (kind == STREAM_START)).sum()
        )

    # -- tasks ---------------------------------------------------------------------------------
    def add_tasks(self, tasks: Frame, calls: Frame, records: Frame, costs: np.ndarray) -> None:
        """Tasks created on one day, with all their calls and records (wherever they land).

        ``costs`` is each call's provider cost (every real call, whatever became of its record).
        """
        n = length(tasks)
        if n == 0:
            return
        first_task = int(tasks["task"][0])
        row = calls["task_row"]
        attempts = np.bincount(row, minlength=n)
        fallback = np.bincount(row, weights=calls["fallback_from"] >= 0, minlength=n)
        retry = np.bincount(
            row, weights=(calls["attempt"] > 1) & (calls["fallback_from"] < 0), minlength=n
        )
        tagless = np.bincount(row, weights=calls["tagless"], minlength=n) > 0
        billed = calls.get("billed_model", calls["model"])
        unpriced = np.bincount(row, weights=billed >= len(cat.MODELS), minlength=n) > 0
        first = np.full(n, -1, dtype=np.int64)
        is_first = calls["attempt"] == 1
        first[row[is_first]] = calls["call"][is_first]
        last_rows = np.flatnonzero(calls["is_last"])
        last = np.full(n, -1, dtype=np.int64)
        last[row[last_rows]] = last_rows
        last_call = calls["call"][last]
        final_status = calls["status"][last]
        outcome = calls["outcome"][last]
        ended = calls["occurred_ms"][last] + calls["latency_ms"][last]

        rec_task = records["true_task"] - first_task
        mine = (records["true_task"] >= 0) & (rec_task >= 0) & (rec_task < n)
        valid_final = mine & np.isin(records["kind"], (OK, STREAM_FINAL))
        prompt = np.bincount(
            rec_task[valid_final], weights=records["prompt"][valid_final], minlength=n
        )
        completion = np.bincount(
            rec_task[valid_final], weights=records["completion"][valid_final], minlength=n
        )
        malformed = np.bincount(rec_task[mine & (records["kind"] == MALFORMED)], minlength=n) > 0
        successful = (final_status == cat.SUCCESS) & np.isin(outcome, (cat.ACCEPTED, -1))

        route_names = pa.array([r.name for r in cat.ROUTES])
        customers, workspaces, users = self.ids
        table = pa.table(
            {
                "task_id": render_ids(tasks["task"], "task_", self.task_key),
                "has_task_id": pa.array(tasks["has_task_id"]),
                "customer_id": customers.take(pa.array(tasks["customer"])),
                "workspace_id": workspaces.take(pa.array(tasks["workspace"])),
                "feature": pa.array(np.array([f.name for f in cat.FEATURES])[tasks["feature"]]),
                "user_id": users.take(pa.array(tasks["user"], mask=tasks["user"] < 0)),
                "first_event_id": render_ids(first, "evt_", self.event_key),
                "last_event_id": render_ids(last_call, "evt_", self.event_key),
                "attempts": pa.array(attempts.astype(np.int64)),
                "retry_attempts": pa.array(retry.astype(np.int64)),
                "fallback_attempts": pa.array(fallback.astype(np.int64)),
                "original_route": route_names.take(pa.array(tasks["route"])),
                "final_route": route_names.take(pa.array(calls["route"][last])),
                "final_status": pa.array(np.array(cat.STATUSES)[final_status]),
                "outcome": pa.array(
                    np.array(cat.OUTCOMES)[np.maximum(outcome, 0)], mask=outcome < 0
                ),
                "is_successful": pa.array(successful),
                "prompt_tokens": pa.array(prompt.astype(np.int64)),
                "completion_tokens": pa.array(completion.astype(np.int64)),
                "started_at": pa.array(tasks["start_ms"]).cast(pa.timestamp("ms", tz="UTC")),
                "ended_at": pa.array(ended).cast(pa.timestamp("ms", tz="UTC")),
                "is_runaway": pa.array(tasks["runaway"]),
                "is_trial": pa.array(tasks["trial"]),
                "has_tagless_attempt": pa.array(tagless),
                "has_malformed_record": pa.array(malformed),
                "has_unpriced_attempt": pa.array(unpriced),
                "provider_cost_usd": pa.array(np.bincount(row, weights=costs, minlength=n)),
            },
            schema=TASKS_SCHEMA,
        )
        self._tasks.write_table(table)
        self.counts["tasks"] += n
        self.counts["tasks_without_task_id"] += int((~tasks["has_task_id"]).sum())
        self.counts["runaway_tasks"] += int(tasks["runaway"].sum())
        self.counts["trial_tasks"] += int(tasks["trial"].sum())
        self.counts["successful_tasks"] += int(successful.sum())
        self.counts["attempts"] += int(attempts.sum())
        self.counts["retry_attempts"] += int(retry.sum())
        self.counts["fallback_attempts"] += int(fallback.sum())
        self.counts["tagless_attempts"] += int(calls["tagless"].sum())
        self.counts["streamed_calls"] += int(calls["stream"].sum())
        valid = records["kind"] != MALFORMED
        self.counts["calls"] += int(np.unique(records["true_ev"][valid]).size)
        self.counts["malformed_calls"] += int(
            np.unique(records["true_ev"][~valid & (records["true_ev"] >= 0)]).size
        )

    # -- provider reports ----------------------------------------------------------------------
    def write_provider_report_gaps(self, rows: list[dict]) -> None:
        table = pa.Table.from_pylist(rows, schema=PROVIDER_REPORT_GAPS_SCHEMA)
        pq.write_table(table, self.paths["provider_report_gaps"], compression="zstd")

    # -- revenue -------------------------------------------------------------------------------
    def write_revenue(self, rows: list[dict]) -> None:
        """Rows of ``revenue.revenue_truth``: every currency here has two decimals."""

        def major(key: str) -> list[Decimal]:
            return [Decimal(r[key]).scaleb(-2) for r in rows]

        table = pa.table(
            {
                "customer_id": [r["customer_id"] for r in rows],
                "service_month": [dt.date.fromisoformat(r["service_month"] + "-01") for r in rows],
                "currency": [r["currency"] for r in rows],
                "revenue_minor": [r["revenue_minor"] for r in rows],
                "open_minor": [r["open_minor"] for r in rows],
                "uncollectible_minor": [r["uncollectible_minor"] for r in rows],
                "revenue": major("revenue_minor"),
                "revenue_open": major("open_minor"),
                "uncollectible": major("uncollectible_minor"),
            },
            schema=REVENUE_SCHEMA,
        )
        pq.write_table(table, self.paths["revenue"], compression="zstd")

    # -- end -----------------------------------------------------------------------------------
    def close(self, parameters: dict, provider_costs: list, files: list[str]) -> dict:
        self._events.close()
        self._tasks.close()
        costs = pa.table(
            {
                "provider": pa.array([r[0] for r in provider_costs], pa.string()),
                "invoice_month": pa.array([r[1] for r in provider_costs], pa.string()),
                "model": pa.array([r[2] for r in provider_costs], pa.string()),
                "computed_usd": pa.array([r[3] for r in provider_costs], pa.float64()),
                "billed_usd": pa.array([r[4] for r in provider_costs], pa.float64()),
                "requests": pa.array([r[5] for r in provider_costs], pa.int64()),
                "billed_requests": pa.array([r[6] for r in provider_costs], pa.int64()),
                "planted": pa.array([r[7] for r in provider_costs], pa.string()),
            }
        )
        pq.write_table(costs, self.paths["provider_costs"], compression="zstd")
        kinds = {label: self.counts[f"kind:{label}"] for label in KINDS}
        summary = {
            "parameters": parameters,
            "records": self.counts["records"],
            "records_by_kind": kinds,
            "records_by_format": dict(sorted(self.records_by_format.items())),
            "files_by_format": dict(sorted(self.formats.items())),
            "malformed_by_fault": {f: self.faults.get(f, 0) for f in FAULTS},
            "duplicates": kinds["duplicate_delivery"],
            "streams": kinds["stream_start"],
            "incomplete_streams": self.counts["incomplete_streams"],
            "late_records": self.counts["late"],
            "extra_field_records": self.counts["extra_field_records"],
            "calls": self.counts["calls"],
            "malformed_calls": self.counts["malformed_calls"],
            "attempts": self.counts["attempts"],
            "tasks": self.counts["tasks"],
            "successful_tasks": self.counts["successful_tasks"],
            "tasks_without_task_id": self.counts["tasks_without_task_id"],
            "retry_attempts": self.counts["retry_attempts"],
            "fallback_attempts": self.counts["fallback_attempts"],
            "tagless_attempts": self.counts["tagless_attempts"],
            "runaway_tasks": self.counts["runaway_tasks"],
            "trial_tasks": self.counts["trial_tasks"],
            "provider_cost_computed_usd": round(sum(r[3] for r in provider_costs), 6),
            "provider_cost_billed_usd": round(sum(r[4] for r in provider_costs), 2),
            "files": files,
        }
        self.paths["summary"].write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        return summary
