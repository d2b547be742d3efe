"""ECB reference rates (landing/fx) through the table-export loader, and their staging model.

Expected rows are computed here from the fixture with Python's csv module, and the staged rates
checked against values read off the fixture by hand (tests/fixtures/stripe/EXPECTED.md, "ECB
rows used"), never from the loader's output.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from dagster import materialize

from orchestration.dbt.project import dbt_executable
from orchestration.ingest.fx import load_fx
from orchestration.ingest.fx_assets import LAKE_FX_QUARANTINE, LAKE_FX_RATES, ingest_fx
from orchestration.paths import DATA_DIR_ENV, PROJECT_ROOT, DataPaths
from orchestration.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures" / "fx"
HISTORY = FIXTURES / "eurofxref-hist.csv"
FROM_JAN_2 = FIXTURES / "eurofxref-hist-from-2026-01-02.csv"


def rates_from_csv(path: Path) -> set[tuple[date, str, Decimal, int]]:
    """(date, currency, rate, data row) for every published cell, read with the csv module."""
    out = set()
    with path.open(newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows)
        for data_row, cells in enumerate(rows, start=1):
            day = date.fromisoformat(cells[0])
            for name, cell in zip(header[1:], cells[1:], strict=True):
                if name == "":  # the trailing comma's column: always empty in the ECB's files
                    assert cell == ""
                    continue
                if cell not in ("N/A", ""):
                    out.add((day, name, Decimal(cell), data_row))
    return out


def lake_rates(lake: Path) -> set[tuple[date, str, Decimal, int]]:
    with duckdb.connect() as con:
        rows = con.execute(
            "select rate_date, currency, units_per_eur, _source_row "
            f"from read_parquet('{lake}/fx/ecb_rates/*.parquet')"
        ).fetchall()
    as_set = {(d, c, Decimal(r).normalize(), n) for d, c, r, n in rows}
    assert len(as_set) == len(rows)  # no rate loaded twice
    return as_set


def normalized(rates: set) -> set:
    return {(d, c, r.normalize(), n) for d, c, r, n in rates}


def quarantine(lake: Path) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(
            "select source_file, source_row, error_code, error_field, "
            "case when json_valid(raw_record) then json_extract_string(raw_record, '$.currency') end, "
            "case when json_valid(raw_record) then json_extract_string(raw_record, '$.units_per_eur') "
            "else raw_record end "
            f"from read_parquet('{lake}/quarantine/fx/*.parquet') order by all"
        ).fetchall()


@pytest.mark.parametrize("fixture", [HISTORY, FROM_JAN_2], ids=lambda p: p.name)
def test_every_published_rate_becomes_one_long_row(tmp_path, fixture):
    landing, lake = tmp_path / "fx", tmp_path / "lake"
    landing.mkdir()
    shutil.copy(fixture, landing / fixture.name)
    [load] = load_fx(landing, lake)
    expected = rates_from_csv(fixture)
    assert (load.status, load.rows_read, load.rows_loaded) == (
        "loaded",
        len(expected),
        len(expected),
    )
    assert lake_rates(lake) == normalized(expected)
    # N/A cells give no row: a currency the ECB no longer publishes is absent, not zero
    currencies = {c for _, c, _, _ in expected}
    assert {"CYP", "EEK", "LTL", "HRK", "RUB"}.isdisjoint(currencies)
    assert "USD" in currencies and "GBP" in currencies


def test_the_history_fixture_has_62_dates_and_bgn_stops_in_2026(tmp_path):
    landing, lake = tmp_path / "fx", tmp_path / "lake"
    landing.mkdir()
    shutil.copy(HISTORY, landing / HISTORY.name)
    load_fx(landing, lake)
    rates = lake_rates(lake)
    assert len({d for d, _, _, _ in rates}) == 62
    bgn_dates = {d for d, c, _, _ in rates if c == "BGN"}
    assert bgn_dates and max(bgn_dates) == date(2025, 12, 31)


MALFORMED = (
    "Date,USD,JPY,GBP,\n"
    "2026-02-27,1.172,N/A,0.871,\n"  # row 1: loads (JPY N/A gives no row)
    "2026-02-26,abc,180.66,,\n"  # row 2: USD not a number; GBP empty gives no row
    "2026-02-30,1.178,181.92,0.874,\n"  # row 3: no such date: all three rates
    "2026-02-24,0,-181.2,0.87,\n"  # row 4: USD and JPY not positive
    "2026-02-23,1.17,181.2,0.87,9.99\n"  # row 5: a value under the unnamed last column
    "2026-02-20,1.17,181.2\n"  # row 6: a cell short
    "2026-02-19,1.16, 180.5 ,n/a,\n"  # row 7: loads, cells trimmed, n/a in any case
)


def test_malformed_rates_are_quarantined_with_row_column_and_reason(tmp_path):
    landing, lake = tmp_path / "fx", tmp_path / "lake"
    landing.mkdir()
    (landing / "rates.csv").write_text(MALFORMED)
    [load] = load_fx(landing, lake)
    assert load.status == "loaded"
    assert lake_rates(lake) == {
        (date(2026, 2, 27), "USD", Decimal("1.172"), 1),
        (date(2026, 2, 27), "GBP", Decimal("0.871"), 1),
        (date(2026, 2, 26), "JPY", Decimal("180.66"), 2),
        (date(2026, 2, 24), "GBP", Decimal("0.87"), 4),
        (date(2026, 2, 23), "USD", Decimal("1.17"), 5),
        (date(2026, 2, 23), "JPY", Decimal("181.2"), 5),
        (date(2026, 2, 23), "GBP", Decimal("0.87"), 5),
        (date(2026, 2, 19), "USD", Decimal("1.16"), 7),
        (date(2026, 2, 19), "JPY", Decimal("180.5"), 7),
    }
    assert quarantine(lake) == sorted(
        [
            ("rates.csv", 2, "wrong_type", "units_per_eur", "USD", "abc"),
            ("rates.csv", 3, "invalid_date", "rate_date", "USD", "1.178"),
            ("rates.csv", 3, "invalid_date", "rate_date", "JPY", "181.92"),
            ("rates.csv", 3, "invalid_date", "rate_date", "GBP", "0.874"),
            ("rates.csv", 4, "non_positive_value", "units_per_eur", "USD", "0"),
            ("rates.csv", 4, "non_positive_value", "units_per_eur", "JPY", "-181.2"),
            ("rates.csv", 5, "invalid_format", "currency", "column_5", "9.99"),
            ("rates.csv", 6, "wrong_cell_count", None, None, "2026-02-20,1.17,181.2"),
        ]
    )
    assert load.quarantine_by_reason == {
        "invalid_date": 3,
        "invalid_format": 1,
        "non_positive_value": 2,
        "wrong_cell_count": 1,
        "wrong_type": 1,
    }
    assert (load.rows_loaded, load.rows_quarantined) == (9, 8)


def test_loading_the_same_file_again_changes_nothing(tmp_path):
    landing, lake = tmp_path / "fx", tmp_path / "lake"
    landing.mkdir()
    shutil.copy(HISTORY, landing / HISTORY.name)
    (landing / "bad.csv").write_text(MALFORMED)
    load_fx(landing, lake)

    def lake_files() -> dict[str, bytes]:
        return {str(p.relative_to(lake)): p.read_bytes() for p in lake.rglob("*") if p.is_file()}

    before = lake_files()
    again = load_fx(landing, lake)
    assert {r.status for r in again} == {"already_loaded"}
    assert lake_files() == before
    # the same content under another name is the same load too
    shutil.copy(HISTORY, landing / "copy-of-history.csv")
    assert {r.status for r in load_fx(landing, lake)} == {"already_loaded"}
    assert lake_files() == before


def test_the_dagster_asset_loads_the_landing_folder_and_warns_on_quarantine(tmp_path):
    paths = DataPaths(tmp_path / "data").ensure()
    shutil.copy(HISTORY, paths.landing_for("fx") / HISTORY.name)
    (paths.landing_for("fx") / "bad.csv").write_text(MALFORMED)
    result = materialize([ingest_fx], resources={"settings": Settings(data_dir=str(paths.root))})
    assert result.success
    metadata = {
        m.asset_key: m.metadata for m in result.get_asset_materialization_events()
        for m in [m.event_specific_data.materialization]
    }  # fmt: skip
    loaded = len(rates_from_csv(HISTORY)) + 9
    assert metadata[LAKE_FX_RATES]["rows_loaded"].value == loaded
    assert metadata[LAKE_FX_QUARANTINE]["rows_quarantined"].value == 8
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("every_fx_file_loaded", False)
    assert any("bad.csv: 8 rows quarantined" in p for p in check.metadata["problems"].value)


def test_staged_rates_take_the_latest_load_and_add_eur(tmp_path):
    paths = DataPaths(tmp_path / "data").ensure()
    landing = paths.landing_for("fx")
    shutil.copy(HISTORY, landing / HISTORY.name)
    load_fx(landing, paths.lake)
    # a later file revises USD on 2026-01-15 (1.173 in the history) and drops GBP that day
    revised = FROM_JAN_2.read_text().splitlines(keepends=True)
    header = revised[0].split(",")
    usd, gbp = header.index("USD"), header.index("GBP")
    for i, line in enumerate(revised):
        if line.startswith("2026-01-15,"):
            cells = line.split(",")
            cells[usd], cells[gbp] = "1.1745", "N/A"
            revised[i] = ",".join(cells)
    (landing / "eurofxref-hist-revised.csv").write_text("".join(revised))
    statuses = {r.source_file: r.status for r in load_fx(landing, paths.lake)}
    assert statuses == {HISTORY.name: "already_loaded", "eurofxref-hist-revised.csv": "loaded"}

    result = subprocess.run(
        [dbt_executable(), "build", "--select", "stg_fx__ecb_rates", "--quiet",
         "--project-dir", str(PROJECT_ROOT), "--profiles-dir", str(PROJECT_ROOT),
         "--target", "duckdb", "--target-path", str(tmp_path / "target"),
         "--log-path", str(tmp_path / "logs")],
        env={**os.environ, DATA_DIR_ENV: str(paths.root)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        staged = {
            (d, c): (Decimal(r).normalize(), base, f)
            for d, c, r, base, f in con.execute(
                "select rate_date, currency, units_per_eur, is_base_currency, source_file "
                "from staging.stg_fx__ecb_rates"
            ).fetchall()
        }
        dates = {d for d, _ in staged}

    revised_file = "eurofxref-hist-revised.csv"
    history = HISTORY.name
    # typed in from the fixture (EXPECTED.md "ECB rows used"), not read from the model
    assert staged[(date(2025, 12, 15), "USD")] == (Decimal("1.174"), False, history)
    assert staged[(date(2025, 12, 31), "USD")] == (Decimal("1.176"), False, history)
    assert staged[(date(2025, 12, 31), "GBP")] == (Decimal("0.875"), False, history)
    assert staged[(date(2026, 1, 30), "USD")] == (Decimal("1.188"), False, revised_file)
    assert staged[(date(2026, 1, 30), "GBP")] == (Decimal("0.864"), False, revised_file)
    assert staged[(date(2025, 12, 31), "BGN")] == (Decimal("1.9558"), False, history)
    # the later load wins where it has the rate; where it has none, the earlier load's stays
    assert staged[(date(2026, 1, 15), "USD")] == (Decimal("1.1745"), False, revised_file)
    assert staged[(date(2026, 1, 15), "GBP")] == (Decimal("0.8625"), False, history)
    # EUR is 1 on every published date and on no other
    assert {d for d, c in staged if c == "EUR"} == dates
    assert staged[(date(2026, 1, 30), "EUR")] == (Decimal("1"), True, None)
    assert len(dates) == 62
    # no rows on holidays and weekends, and none for a currency the ECB shows as N/A
    for holiday in (date(2025, 12, 25), date(2025, 12, 26), date(2026, 1, 1), date(2026, 1, 31)):
        assert holiday not in dates
    assert (date(2026, 2, 27), "BGN") not in staged
    assert len(staged) == len({(d, c) for d, c, _, _ in rates_from_csv(HISTORY)}) + 62


def test_fx_assets_run_from_landing_to_staging_with_their_checks(data_dir):
    from dagster import AssetKey

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    landing, staging = AssetKey(["landing", "fx"]), AssetKey(["staging", "stg_fx__ecb_rates"])
    assert landing in graph.get(LAKE_FX_RATES).parent_keys
    assert landing in graph.get(LAKE_FX_QUARANTINE).parent_keys
    assert LAKE_FX_RATES in graph.get(staging).parent_keys
    assert (graph.get(LAKE_FX_RATES).group_name, graph.get(staging).group_name) == (
        "lake",
        "staging",
    )
    checks = {(key.asset_key, key.name) for key in graph.asset_check_keys}
    assert (LAKE_FX_QUARANTINE, "every_fx_file_loaded") in checks
    assert (LAKE_FX_RATES, "source_freshness") in checks
    assert (staging, "unique_stg_fx__ecb_rates_ecb_rate_id") in checks
