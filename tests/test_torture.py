"""The torture run (bench/torture.py, docs/reliability.md) at a small size, in its quick form:
a kill -9 of the whole process group during ingestion and another during the dbt build, every
usage file re-delivered re-serialised, late events and re-versions, thousands of malformed records
and unreadable files, hostile ids, a price correction, a reader holding the serving file, the
webhook down then back, and a final run. The expected events are counted from the landing files
without the pipeline, and the warehouse is compared with a clean build of the same files."""

from __future__ import annotations

import json

import pytest

from bench import torture

# about 16 minutes on a 2-core machine: make test-torture, not make test (docs/reliability.md)
pytestmark = pytest.mark.torture


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> dict:
    work = tmp_path_factory.mktemp("torture")
    args = torture.build_parser().parse_args(
        [
            "--quick",
            "--events",
            "1500",
            "--days",
            "6",
            "--customers",
            "5",
            "--late",
            "40",
            "--malformed-per-kind",
            "50",
            "--work-dir",
            str(work / "run"),
        ]
    )
    result = torture.run(args)
    # every figure beside the data directories, for a failing run's post-mortem
    (work / "result.json").write_text(json.dumps(result, indent=2, default=str))
    return result


def test_every_run_but_the_killed_ones_succeeded(result):
    assert result["failed_runs"] == [], result["runs"]
    assert result["final_run_code"] == 0 and result["clean_build_code"] == 0


def test_both_kills_landed_in_their_stage_and_were_survived(result):
    assert result["kills"][0] == "ingestion"
    assert result["kills"][1].startswith("the dbt build")
    assert result["kills_survived"] == 2


def test_no_event_lost_or_doubled_and_the_latest_version_wins(result):
    assert result["expected_events"] > 1000
    assert result["lost"] == 0, result["lost_ids"]
    assert result["doubled"] == 0, result["unexpected_ids"]
    assert result["wrong_version"] == 0, result["wrong_version_ids"]
    assert result["events"] == result["expected_events"]


def test_every_planted_malformed_record_is_quarantined(result):
    assert result["planted_invalid"] >= 1000
    assert result["quarantined"] >= result["planted_invalid"]


def test_the_warehouse_equals_a_clean_build_of_the_same_files(result):
    assert result["tables_missing"] == []
    assert result["tables_differing"] == []


def test_the_final_run_changes_nothing(result):
    assert result["final_changed_tables"] == []
    assert result["final_changed_lake_files"] == []


def test_the_reader_kept_querying_the_serving_file(result):
    assert result["reader_queries"] > 10
    assert result["reader_errors"] == []


def test_every_alert_was_delivered_exactly_once_after_the_outage(result):
    assert result["alerts"] > 0
    assert result["webhook_failed_posts"] > 0  # the outage was seen
    assert result["alerts_once"] == result["alerts"]
