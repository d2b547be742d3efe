"""One atomic publish for every loader: files move in from the work dir, the manifest is written
last, and a load that crashed in between is redone without counting its rows twice."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.ingest.billing import load_billing
from orchestration.ingest.lake import Lake
from orchestration.ingest.pricing import load_pricing

PLANS = (
    "plan_id,plan_name,price_per_month_usd,target_gross_margin_pct,included_tasks,overage_per_task_usd,seats_included\n"
    "starter,Starter,29.00,70.0,2000,0.03,5\n"
    "pro,Pro,-1,70.0,,,\n"
)
SHEET = (
    "provider,model,component,usd_per_million_tokens,valid_from,valid_to\n"
    "openai,gpt-4o,input,2.0,2026-01-01,\n"
)


def _count(glob: str) -> int:
    with duckdb.connect() as con:
        return con.execute(f"select count(*) from read_parquet('{glob}')").fetchall()[0][0]


def _crash_after_moving_files(monkeypatch) -> None:
    """Make ``Lake.publish`` move the work dir's files into the lake, then die before the manifest."""

    def publish(self, sha, manifest):
        work = self.work_dir(sha)
        for part in [p for p in work.rglob("*") if p.is_file()]:
            target = self.root / part.relative_to(work)
            target.parent.mkdir(parents=True, exist_ok=True)
            part.replace(target)
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(Lake, "publish", publish)


def test_a_crashed_billing_load_is_redone_without_counting_its_rows_twice(tmp_path, monkeypatch):
    landing, lake = tmp_path / "billing", tmp_path / "lake"
    landing.mkdir()
    (landing / "plans.csv").write_text(PLANS)
    real_publish = Lake.publish
    _crash_after_moving_files(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        load_billing(landing, lake)
    assert Lake(lake, "billing").manifests_all() == []
    assert _count(f"{lake}/billing/plans/*.parquet") == 1  # the crashed load's rows are visible

    monkeypatch.setattr(Lake, "publish", real_publish)
    [result] = load_billing(landing, lake)
    assert (result.status, result.rows_loaded, result.rows_quarantined) == ("loaded", 1, 1)
    assert _count(f"{lake}/billing/plans/*.parquet") == 1
    assert _count(f"{lake}/quarantine/billing/*.parquet") == 1
    [manifest] = Lake(lake, "billing").manifests_all()
    assert sorted(manifest["lake_files"]) == [
        f"billing/plans/{result.file_sha256[:16]}-0.parquet",
        f"quarantine/billing/{result.file_sha256[:16]}-0.parquet",
    ]
    assert not (lake / "_tmp" / "billing" / result.file_sha256).exists()


def test_a_crashed_pricing_load_is_redone_without_counting_its_rules_twice(tmp_path, monkeypatch):
    landing, lake = tmp_path / "pricing", tmp_path / "lake"
    landing.mkdir()
    (landing / "sheet.csv").write_text(SHEET)
    real_publish = Lake.publish
    _crash_after_moving_files(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        load_pricing(landing, lake)
    assert Lake(lake, "prices").manifests_all() == []

    monkeypatch.setattr(Lake, "publish", real_publish)
    [result] = load_pricing(landing, lake)
    assert (result.status, result.rules_loaded) == ("loaded", 1)
    assert _count(f"{lake}/prices/rules/*.parquet") == 1
    [manifest] = Lake(lake, "prices").manifests_all()
    assert manifest["lake_files"] == [f"prices/rules/{result.file_sha256[:16]}.parquet"]


def test_remove_partial_removes_only_the_files_of_that_content(tmp_path):
    lake = Lake(tmp_path, "billing")
    sha, other = "ab" * 32, "ab" * 7 + "cd" * 25  # the same first 14 characters
    files = [
        lake.data / "plans" / f"{sha[:16]}-0.parquet",
        lake.data / "plans" / f"{sha[:16]}.parquet",
        lake.quarantine / f"{sha[:16]}-0.parquet",
        lake.data / "plans" / f"{other[:16]}-0.parquet",
        lake.data / "plans" / "schema-v1.parquet",
        lake.data / "plans" / f"{sha[:16]}x-0.parquet",
    ]
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
    assert lake.remove_partial(sha) == 3
    assert [p.exists() for p in files] == [False, False, False, True, True, True]


def test_publish_refuses_a_work_file_outside_the_dataset(tmp_path):
    lake = Lake(tmp_path, "billing")
    sha = "ef" * 32
    stray = lake.start(sha) / "usage_events" / "x.parquet"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"")
    with pytest.raises(ValueError, match="outside"):
        lake.publish(sha, {"source_file": "x"})
    assert lake.read_manifest(sha) is None
