"""Budget alerts: the threshold rules, the webhook outbox against a local HTTP server (down,
failing, back), and a customer walked through 50%, 80%, projected breach and 100% across runs,
a Dagster restart and a webhook outage, with exactly one alert and one delivery each."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from budget_fixtures import Webhook, alert_rows, budget_row, closed_port_url, write_marts
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_sensor_context,
    materialize,
)

from orchestration.alerts import outbox as outbox_module
from orchestration.alerts.assets import budget_alerts
from orchestration.alerts.outbox import Outbox, backoff, outbox_path
from orchestration.alerts.rules import (
    HARD_100,
    HARD_CAP,
    PROJECTED_BREACH,
    SOFT_50,
    SOFT_80,
    Alert,
    alert_id,
    crossed_thresholds,
    to_send,
)
from orchestration.sensors.budgets import budget_threshold_sensor, webhook_outbox_sensor
from orchestration.settings import WEBHOOK_URL_ENV, Settings

D = Decimal


def _outbox_context(instance):
    return build_sensor_context(instance=instance, resources={"settings": Settings()})


BUDGET_STATUS = AssetKey(["marts", "mart_budget_status"])


# --- the rules -------------------------------------------------------------------------------


def _flags(*crossed: str, source: str = "configured") -> dict:
    return {
        "has_reached_50_pct": "50" in crossed,
        "has_reached_80_pct": "80" in crossed,
        "is_projected_breach": "projected" in crossed,
        "is_over_budget": "over" in crossed,
        "budget_source": source,
    }


@pytest.mark.parametrize(
    ("crossed", "expected"),
    [
        ((), []),
        (("50",), [SOFT_50]),
        (("50", "80"), [SOFT_50, SOFT_80]),
        (("projected",), [PROJECTED_BREACH]),
        (("50", "80", "projected"), [SOFT_50, SOFT_80, PROJECTED_BREACH]),
        (("50", "80", "over"), [SOFT_50, SOFT_80, HARD_100]),
    ],
)
def test_each_flag_of_the_budget_mart_raises_its_threshold_least_severe_first(crossed, expected):
    # which thresholds a row crossed is decided once, in mart_budget_status (its dbt unit tests
    # pin the 50/80/100% boundaries and the projection); the alerts only name them
    assert crossed_thresholds(_flags(*crossed)) == expected


def test_a_workspace_over_its_cap_raises_the_hard_cap_alert():
    assert crossed_thresholds(_flags("over", source="workspace_hard_cap")) == [HARD_CAP]
    assert (
        crossed_thresholds(_flags("50", "80", "over", source="workspace_hard_cap"))[-1] == HARD_CAP
    )


def test_only_the_most_severe_new_threshold_of_a_scope_is_sent():
    as_of = datetime(2026, 11, 20)

    def alert(scope_id: str, threshold: str) -> Alert:
        return Alert("customer", scope_id, scope_id, threshold, date(2026, 11, 1), "month", as_of)

    jump = [alert("c1", SOFT_50), alert("c1", SOFT_80), alert("c1", HARD_100)]
    single = [alert("c2", SOFT_50)]
    assert to_send(jump + single) == {jump[2].alert_id, single[0].alert_id}


def test_alert_id_is_stable_per_scope_threshold_and_period():
    first = alert_id("customer", "c1", SOFT_80, date(2026, 11, 1))
    assert first == alert_id("customer", "c1", SOFT_80, date(2026, 11, 1))
    assert first != alert_id("customer", "c1", SOFT_80, date(2026, 12, 1))
    assert first != alert_id("customer", "c1", SOFT_50, date(2026, 11, 1))
    assert first != alert_id("workspace", "c1", SOFT_80, date(2026, 11, 1))


# --- the outbox against a real HTTP server ---------------------------------------------------


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.stop()


def test_outbox_keeps_messages_while_the_webhook_is_down_and_delivers_each_once(tmp_path, webhook):
    box = Outbox(tmp_path / "outbox.sqlite3")
    t0 = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert box.enqueue("a1", {"text": "one", "alert": {"alert_id": "a1"}}, now=t0)
    assert box.enqueue("a2", {"text": "two", "alert": {"alert_id": "a2"}}, now=t0)
    assert not box.enqueue("a1", {"text": "one again", "alert": {"alert_id": "a1"}}, now=t0)

    # connection refused: the first try fails, the batch stops, nothing is lost
    report = box.deliver_due(closed_port_url(), now=t0)
    assert (report.delivered, report.failed, report.pending) == (0, 1, 2)
    assert [a["error"].startswith("URLError") for a in box.attempts()] == [True]

    # the webhook answers 500: each due message fails, is recorded, and backs off
    webhook.status = 500
    t1 = t0 + backoff(1)
    report = box.deliver_due(webhook.url, now=t1)
    assert (report.delivered, report.failed, report.pending) == (0, 2, 2)
    assert {
        a["status"] for a in box.attempts() if a["attempted_at"] > "2026-11-29T12:00:00.000000Z"
    } == {500}
    # before the backoff expires nothing is tried again
    assert box.deliver_due(webhook.url, now=t1 + timedelta(seconds=1)).failed == 0
    assert len(webhook.received) == 2

    # it comes back: each message is delivered exactly once, then never again
    webhook.status = 200
    t2 = t1 + backoff(2) + backoff(3)
    report = box.deliver_due(webhook.url, now=t2)
    assert (report.delivered, report.failed, report.pending) == (2, 0, 0)
    assert box.deliver_due(webhook.url, now=t2 + timedelta(days=1)).delivered == 0
    assert sorted(webhook.acknowledged_ids()) == ["a1", "a2"]
    rows = {row["alert_id"]: row for row in box.rows()}
    assert rows["a1"]["attempts"] == 3 and rows["a1"]["last_status"] == 200
    assert rows["a2"]["attempts"] == 2  # it was not tried while the endpoint refused connections


def test_outbox_without_a_webhook_url_keeps_everything(tmp_path):
    box = Outbox(tmp_path / "outbox.sqlite3")
    box.enqueue("a1", {"text": "one"})
    report = box.deliver_due(None)
    assert report.not_configured and report.pending == 1 and box.attempts() == []


def test_backoff_doubles_up_to_an_hour():
    assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert backoff(50).total_seconds() == 3600


# --- one customer through every threshold, across runs, a restart and an outage --------------


def _materialization_seen_by(instance: DagsterInstance, cursor: str | None):
    """Report a materialization of the budget mart (as a dbt build does) and tick the sensor."""
    instance.report_runless_asset_event(AssetMaterialization(BUDGET_STATUS))
    context = build_sensor_context(instance=instance, cursor=cursor)
    result = list(budget_threshold_sensor(context))
    return result, context.cursor


def _alerts_run(instance: DagsterInstance) -> None:
    """What the RunRequest starts: the budget_alerts job (its one asset)."""
    assert materialize(
        [budget_alerts], instance=instance, resources={"settings": Settings()}
    ).success


def test_customer_walks_through_every_threshold_once_across_restart_and_outage(
    data_dir, monkeypatch, webhook
):
    monkeypatch.setenv(WEBHOOK_URL_ENV, webhook.url)
    monkeypatch.setattr(outbox_module, "BACKOFF_BASE_SECONDS", 0)  # retry on the next tick
    warehouse = data_dir.warehouse
    day = lambda d: datetime(2026, 11, d, 18, 0)  # noqa: E731
    runaway_day = (
        "ws-loop", "c1", date(2026, 11, 14), "runaway_tasks", 40, 2, 90, 60,
        D("12.5"), 1.0, 6, 12.5,
    )  # fmt: skip
    runaway_tasks = [("t-1", "ws-loop", date(2026, 11, 14), 60, True)]

    # run 1: 50% used, projection under budget -> soft_50 (and the runaway loop's abuse alert)
    instance = DagsterInstance.ephemeral()
    write_marts(
        warehouse,
        [budget_row("c1", "50", "100", "60", day(25), crossed=("50",))],
        [runaway_day],
        runaway_tasks,
    )
    requests, cursor = _materialization_seen_by(instance, None)
    assert len(requests) == 1 and isinstance(requests[0], RunRequest)
    _alerts_run(instance)
    assert [r[2] for r in alert_rows(warehouse)] == ["abuse_runaway_loop", SOFT_50]
    assert len(webhook.acknowledged) == 2

    # the same materialization ticked again: no new run (cursor)
    context = build_sensor_context(instance=instance, cursor=cursor)
    assert all(isinstance(r, SkipReason) for r in budget_threshold_sensor(context))

    # run 2: 80% -> soft_80 only
    write_marts(
        warehouse,
        [budget_row("c1", "80", "100", "92", day(26), crossed=("50", "80"))],
        [runaway_day],
        runaway_tasks,
    )
    requests, cursor = _materialization_seen_by(instance, cursor)
    assert isinstance(requests[0], RunRequest)
    _alerts_run(instance)
    assert [r[2] for r in alert_rows(warehouse)][-1] == SOFT_80
    assert len(webhook.acknowledged) == 3

    # Dagster restarts: a fresh instance, no cursor; the same mart state materializes again.
    # The sensor starts a run, and the warehouse record keeps every alert from firing twice.
    instance = DagsterInstance.ephemeral()
    requests, cursor = _materialization_seen_by(instance, None)
    assert isinstance(requests[0], RunRequest)
    _alerts_run(instance)
    assert len(alert_rows(warehouse)) == 3
    assert len(webhook.acknowledged) == 3

    # run 3, during a webhook outage: 95% used, projected 110% -> projected_breach, queued
    webhook.status = 503
    write_marts(
        warehouse,
        [budget_row("c1", "95", "100", "110", day(27), crossed=("50", "80", "projected"))],
        [runaway_day],
        runaway_tasks,
    )
    requests, cursor = _materialization_seen_by(instance, cursor)
    _alerts_run(instance)  # the run succeeds: delivery never blocks the pipeline
    assert [r[2] for r in alert_rows(warehouse)][-1] == PROJECTED_BREACH
    assert len(webhook.acknowledged) == 3
    tick = webhook_outbox_sensor(_outbox_context(instance))
    assert "failed 1, 1 pending" in tick.skip_message

    # the webhook is back: the next outbox tick delivers the queued alert, once
    webhook.status = 200
    tick = webhook_outbox_sensor(_outbox_context(instance))
    assert "delivered 1" in tick.skip_message
    tick = webhook_outbox_sensor(_outbox_context(instance))
    assert "delivered 0" in tick.skip_message

    # run 4: 102% -> hard_100
    write_marts(
        warehouse,
        [budget_row("c1", "102", "100", "110", day(28), crossed=("50", "80", "over"))],
        [runaway_day],
        runaway_tasks,
    )
    requests, cursor = _materialization_seen_by(instance, cursor)
    _alerts_run(instance)

    fired = alert_rows(warehouse)
    assert sorted(r[2] for r in fired) == sorted(
        ["abuse_runaway_loop", SOFT_50, SOFT_80, PROJECTED_BREACH, HARD_100]
    )
    expected_ids = {
        alert_id("customer", "c1", t, date(2026, 11, 1))
        for t in (SOFT_50, SOFT_80, PROJECTED_BREACH, HARD_100)
    }
    expected_ids.add(alert_id("workspace", "ws-loop", "abuse_runaway_loop", date(2026, 11, 14)))
    delivered = webhook.acknowledged_ids()
    assert sorted(delivered) == sorted(expected_ids)  # exactly one acknowledged delivery each
    assert all(body["text"] for body in webhook.acknowledged)
    hard = next(b for b in webhook.acknowledged if b["alert"]["threshold"] == HARD_100)
    assert hard["alert"]["spend_usd"] == 102.0 and hard["alert"]["budget_usd"] == 100.0
    assert hard["alert"]["as_of"] == "2026-11-28T18:00:00Z"
    loop = next(b for b in webhook.acknowledged if b["alert"]["threshold"] == "abuse_runaway_loop")
    assert loop["alert"]["evidence"] == ["t-1"]
    assert Outbox(outbox_path()).pending() == 0


def test_a_jump_past_several_thresholds_sends_the_most_severe_and_records_all(
    data_dir, monkeypatch, webhook
):
    monkeypatch.setenv(WEBHOOK_URL_ENV, webhook.url)
    write_marts(
        data_dir.warehouse,
        [
            budget_row(
                "c9", "130", "100", "150", datetime(2026, 11, 20), crossed=("50", "80", "over")
            )
        ],
    )
    with DagsterInstance.ephemeral() as instance:
        _alerts_run(instance)
        _alerts_run(instance)
    rows = {r[2]: r[4] for r in alert_rows(data_dir.warehouse)}
    assert rows == {SOFT_50: "superseded", SOFT_80: "superseded", HARD_100: "outbox"}
    assert [b["alert"]["threshold"] for b in webhook.acknowledged] == [HARD_100]


def test_the_warehouse_record_alone_keeps_an_alert_from_firing_again(
    data_dir, monkeypatch, webhook
):
    """Even with the outbox file gone (a new machine, a wiped alerts/ directory), an alert
    recorded in audit.budget_alerts is not fired or sent again."""
    monkeypatch.setenv(WEBHOOK_URL_ENV, webhook.url)
    write_marts(
        data_dir.warehouse,
        [budget_row("c7", "81", "100", "90", datetime(2026, 11, 20), crossed=("50", "80"))],
    )
    with DagsterInstance.ephemeral() as instance:
        _alerts_run(instance)
    assert [b["alert"]["threshold"] for b in webhook.acknowledged] == [SOFT_80]
    outbox_path().unlink()
    with DagsterInstance.ephemeral() as instance:
        _alerts_run(instance)
    assert len(webhook.acknowledged) == 1
    assert len(alert_rows(data_dir.warehouse)) == 2  # soft_50 (superseded) and soft_80
