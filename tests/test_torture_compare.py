"""The torture run's table-by-table comparison with a clean build (bench/torture_counts.py): a
table that keeps history (an alert once fired) may hold more rows than the clean build, never
fewer; every other table must match row for row."""

from __future__ import annotations

import duckdb

from bench.torture_counts import compare_warehouses


def _warehouse(path, alerts: list[str], spend: list[int]) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema audit; create schema marts")
        con.execute("create table audit.budget_alerts (alert_id varchar, fired_at timestamp)")
        con.execute("create table marts.mart_spend (customer_id varchar, spend integer)")
        for alert in alerts:
            con.execute("insert into audit.budget_alerts values (?, now())", [alert])
        for i, value in enumerate(spend):
            con.execute("insert into marts.mart_spend values (?, ?)", [f"c{i}", value])


def _diffs(tmp_path, torture_alerts, clean_alerts, torture_spend=(1,), clean_spend=(1,)):
    _warehouse(tmp_path / "t.duckdb", torture_alerts, list(torture_spend))
    _warehouse(tmp_path / "c.duckdb", clean_alerts, list(clean_spend))
    diffs, missing, _ = compare_warehouses(tmp_path / "t.duckdb", tmp_path / "c.duckdb")
    assert missing == []
    return {d.table: d for d in diffs}


def test_an_alert_fired_before_a_correction_is_history_not_a_difference(tmp_path):
    diffs = _diffs(tmp_path, ["a1", "a2", "early"], ["a1", "a2"])
    assert list(diffs) == ["audit.budget_alerts"]
    assert diffs["audit.budget_alerts"].by_design
    assert diffs["audit.budget_alerts"].only_here == 1


def test_an_alert_the_clean_build_fires_and_the_torture_run_lost_is_a_difference(tmp_path):
    diffs = _diffs(tmp_path, ["a1", "early"], ["a1", "a2"])
    assert not diffs["audit.budget_alerts"].by_design


def test_any_other_table_with_extra_rows_is_a_difference(tmp_path):
    diffs = _diffs(tmp_path, ["a1"], ["a1"], torture_spend=(1, 2), clean_spend=(1,))
    assert list(diffs) == ["marts.mart_spend"]
    assert not diffs["marts.mart_spend"].by_design
