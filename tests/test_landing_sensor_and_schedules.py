"""The landing sensor (cursor, restart, no duplicate runs), the schedules and jobs, the
warehouse_writer pool on every writer, and the gateway cap list file."""

from __future__ import annotations

import json
import os
import time
from datetime import date, datetime
from decimal import Decimal

import duckdb
from budget_fixtures import budget_row, write_marts
from dagster import AssetKey, DagsterInstance, RunRequest, SkipReason, build_sensor_context

from orchestration.alerts.assets import read_gateway_caps, write_atomically
from orchestration.ingest.lake import file_sha256
from orchestration.sensors.landing import (
    SETTLE_SECONDS,
    evaluate_landing,
    landing_sensor,
    loaded_record,
    loaded_state,
    record_loaded,
    snapshot_landing,
)


def _land(path, text: str, age_seconds: float = 60) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    then = time.time() - age_seconds
    os.utime(path, (then, then))


def _tick(instance, cursor, now=None):
    context = build_sensor_context(instance=instance, cursor=cursor)
    result = landing_sensor(context) if now is None else evaluate_landing(context, now=now)
    return result, context.cursor


def test_landing_sensor_runs_once_per_new_landing_state_across_a_restart(data_dir):
    instance = DagsterInstance.ephemeral()
    result, cursor = _tick(instance, None)
    assert isinstance(result, SkipReason) and "no landing files" in result.skip_message

    _land(data_dir.landing_for("usage_events") / "a.jsonl", '{"x": 1}\n')
    first, cursor = _tick(instance, cursor)
    assert isinstance(first, RunRequest) and first.run_key.startswith("landing:")
    assert first.tags["llm_margin/changed_files"] == "1"

    again, cursor = _tick(instance, cursor)
    assert isinstance(again, SkipReason)

    # Dagster restarts: a new instance, the stored cursor -> still nothing to do
    instance = DagsterInstance.ephemeral()
    after_restart, cursor = _tick(instance, cursor)
    assert isinstance(after_restart, SkipReason)

    # had the cursor been lost, the same landing state gives the same run_key (Dagster then
    # skips it as already launched): no duplicate run either way
    lost, _ = _tick(instance, None)
    assert isinstance(lost, RunRequest) and lost.run_key == first.run_key

    # a file still being written waits; once settled it starts one new run
    fresh = data_dir.landing_for("billing") / "plans.csv"
    _land(fresh, "plan_id\n", age_seconds=0)
    waiting, cursor = _tick(instance, cursor)
    assert isinstance(waiting, SkipReason) and "1 still being written" in waiting.skip_message
    _land(fresh, "plan_id\nfree\n", age_seconds=SETTLE_SECONDS + 5)
    second, cursor = _tick(instance, cursor)
    assert isinstance(second, RunRequest) and second.run_key != first.run_key
    assert second.tags["llm_margin/changed_files"] == "1"

    # a replaced file (new size or mtime) is a change; temp files are not
    _land(data_dir.landing_for("usage_events") / ".b.jsonl.tmp", "partial")
    assert isinstance(_tick(instance, cursor)[0], SkipReason)
    _land(data_dir.landing_for("usage_events") / "a.jsonl", '{"x": 1}\n{"x": 2}\n')
    third, cursor = _tick(instance, cursor)
    assert isinstance(third, RunRequest) and third.run_key not in (first.run_key, second.run_key)


def test_landing_sensor_does_not_rebuild_what_llm_margin_materialize_loaded(data_dir, monkeypatch):
    monkeypatch.delenv("LLM_MARGIN_DBT_TARGET", raising=False)
    instance = DagsterInstance.ephemeral()
    usage = data_dir.landing_for("usage_events")
    _land(usage / "a.jsonl", '{"x": 1}\n')
    # written just now, as `make run` does: generate, then materialize within the settle time
    _land(usage / "b.jsonl", '{"x": 2}\n', age_seconds=0)

    # the CLI takes the landing state before its run and records it once the run succeeded,
    # with what appeared during the run and was loaded by it (the pricing catalog export)
    before = snapshot_landing(data_dir)
    assert set(before) == {"usage_events/a.jsonl", "usage_events/b.jsonl"}
    export = data_dir.landing_for("pricing") / "catalog.rules.jsonl"
    _land(export, '{"rule": 1}\n', age_seconds=0)
    _land(usage / "late.jsonl", '{"x": 9}\n', age_seconds=0)  # after ingestion: not loaded
    loaded = loaded_state(data_dir, before, {file_sha256(export)})
    assert set(loaded) == {
        "usage_events/a.jsonl",
        "usage_events/b.jsonl",
        "pricing/catalog.rules.jsonl",
    }
    record_loaded(data_dir, loaded, run_id="cli-run-1")
    assert loaded_record(data_dir)["files"] == loaded

    # first tick ever (no cursor): a.jsonl is settled, the others still settling; a.jsonl was
    # loaded already
    first, cursor = _tick(instance, None)
    assert isinstance(first, SkipReason), first
    assert "already loaded by llm-margin materialize (run cli-run-1" in first.skip_message
    assert "3 still being written" in first.skip_message
    # once settled, the file that came too late for the CLI's run starts one run
    later = time.time() + SETTLE_SECONDS + 1
    late, cursor = _tick(instance, cursor, now=later)
    assert isinstance(late, RunRequest) and late.tags["llm_margin/changed_files"] == "1"
    (usage / "late.jsonl").unlink()  # (as if it had never come)
    cursor = None
    # ticks once b.jsonl and the export have settled, unchanged: the state the CLI loaded
    settled, cursor = _tick(instance, cursor, now=later)
    assert isinstance(settled, SkipReason) and "already loaded" in settled.skip_message
    assert "still being written" not in settled.skip_message
    again, cursor = _tick(instance, cursor, now=later)
    assert isinstance(again, SkipReason) and "no new or changed" in again.skip_message

    # a new file arrives: one run, counting only the new file as changed
    _land(data_dir.landing_for("billing") / "plans.csv", "plan_id\nfree\n")
    new, cursor = _tick(instance, cursor, now=later)
    assert isinstance(new, RunRequest) and new.tags["llm_margin/changed_files"] == "1"
    assert isinstance(_tick(instance, cursor, now=later)[0], SkipReason)

    # a file the CLI loaded is replaced: a run, even without a cursor
    _land(usage / "a.jsonl", '{"x": 1}\n{"x": 3}\n')
    replaced, _ = _tick(instance, None, now=later)
    assert isinstance(replaced, RunRequest) and replaced.tags["llm_margin/changed_files"] == "2"


def test_a_load_for_another_dbt_target_does_not_count(data_dir, monkeypatch):
    _land(data_dir.landing_for("usage_events") / "a.jsonl", '{"x": 1}\n')
    monkeypatch.setenv("LLM_MARGIN_DBT_TARGET", "spark")
    record_loaded(data_dir, snapshot_landing(data_dir), run_id="spark-run")
    monkeypatch.delenv("LLM_MARGIN_DBT_TARGET")
    result, _ = _tick(DagsterInstance.ephemeral(), None)
    assert isinstance(result, RunRequest)
    # an unreadable record is no record
    data_dir.landing_loaded.write_text("{not json")
    assert loaded_record(data_dir) == {}
    assert isinstance(_tick(DagsterInstance.ephemeral(), None)[0], RunRequest)


def test_sensors_schedules_and_jobs_are_defined(data_dir):
    from orchestration.definitions import defs

    sensors = {s.name for s in defs.sensors}
    assert {"budget_threshold_sensor", "webhook_outbox_sensor", "landing_sensor"} <= sensors
    schedules = {s.name: s for s in defs.schedules}
    assert schedules["hourly_incremental_build"].cron_schedule == "0 * * * *"
    assert schedules["weekly_report"].cron_schedule == "0 7 * * 1"
    assert defs.resolve_job_def("ingest_and_build") is not None
    budget = defs.resolve_sensor_def("budget_threshold_sensor")
    assert budget.asset_key == AssetKey(["marts", "mart_budget_status"])
    assert budget.job_name == "budget_alerts"
    assert defs.resolve_sensor_def("landing_sensor").job_name == "ingest_and_build"


def test_every_asset_that_writes_the_lake_or_the_warehouse_is_in_one_pool(data_dir):
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    writers = [
        AssetKey(["lake", "usage_events"]),
        AssetKey(["lake", "billing_plans"]),
        AssetKey(["lake", "price_rules"]),
        AssetKey(["lake", "model_resolutions"]),
        AssetKey(["marts", "mart_budget_status"]),
        AssetKey(["audit", "budget_alerts"]),
        AssetKey(["serving", "gateway_caps_json"]),
    ]
    pools = {key: defs.resolve_assets_def(key).node_def.pool for key in writers}
    assert set(pools.values()) == {"warehouse_writer"}, pools
    # and nothing materializable escapes it but the catalog export, which writes landing/ only,
    # and the PostgreSQL serving target, which reads only the serving file (docs/serving.md)
    outside = {AssetKey(["serving", "llm_margin_postgres"])}
    materializable = [
        k
        for k in graph.get_all_asset_keys()
        if graph.get(k).is_materializable and k.path[0] != "landing" and k not in outside
    ]
    assert {defs.resolve_assets_def(k).node_def.pool for k in materializable} == {
        "warehouse_writer"
    }
    assert {defs.resolve_assets_def(k).node_def.pool for k in outside} == {None}


def test_every_python_check_that_opens_the_warehouse_waits_for_the_writer_pool(data_dir):
    import inspect
    import re

    from orchestration.definitions import defs

    opens_warehouse = re.compile(r"\.warehouse\b|warehouse_rows\(")
    readers = {}
    for checks in defs.asset_checks or []:
        function = checks.node_def.compute_fn.decorated_fn
        if opens_warehouse.search(inspect.getsource(function)):
            readers[function.__name__] = checks.node_def.pool
    # the pricing, reconciliation, alert and serving checks all open it
    assert {
        "no_unpriced_usage",
        "restatements_reported",
        "provider_costs_reconcile",
        "provider_yesterday_reconciles",
        "alerts_agree_with_their_thresholds",
        "serving_copy_matches_warehouse",
    } <= readers.keys()
    assert set(readers.values()) == {"warehouse_writer"}, readers


def test_gateway_cap_list_is_written_atomically_with_every_field(data_dir):
    warehouse = data_dir.warehouse
    runaway = ("ws-loop", "c1", date(2026, 11, 14), "spend_spike_and_runaway_tasks", 40, 2, 90, 60,
               Decimal("12.5"), 1.0, 6, 12.5)  # fmt: skip
    write_marts(
        warehouse, [budget_row("c1", "50", "100", "60", datetime(2026, 11, 14, 9))], [runaway]
    )
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into marts.mart_gateway_caps values ('workspace:ws-cap:over_hard_cap', "
            "'workspace', 'ws-cap', 'c2', 'over_hard_cap', timestamp '2026-11-12 08:30:00', "
            "date '2026-11-01', 5.25, 5, timestamp '2026-11-14 09:00:00')"
        )
    document = read_gateway_caps(warehouse)
    assert document["version"] == 1 and document["as_of"] == "2026-11-14T09:00:00Z"
    by_reason = {cap["reason"]: cap for cap in document["caps"]}
    assert set(by_reason) == {"over_hard_cap", "runaway_loop", "spend_spike"}
    assert by_reason["over_hard_cap"] == {
        "scope": "workspace",
        "id": "ws-cap",
        "customer_id": "c2",
        "reason": "over_hard_cap",
        "since": "2026-11-12T08:30:00Z",
        "period_start": "2026-11-01",
        "spend_usd": 5.25,
        "cap_usd": 5.0,
    }
    assert by_reason["runaway_loop"]["cap_usd"] is None

    target = data_dir.serving / "gateway_caps.json"
    write_atomically(target, "old\n")
    write_atomically(target, json.dumps(document))
    assert json.loads(target.read_text()) == document
    assert [p.name for p in target.parent.iterdir()] == ["gateway_caps.json"]  # no temp left
