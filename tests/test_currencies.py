"""Revenue in any currency, reported in USD (docs/currencies.md)."""

from __future__ import annotations

import csv
import os
import subprocess

from orchestration.dbt.project import dbt_executable
from orchestration.ingest.currencies import SEED, minor_unit_exponents
from orchestration.paths import DATA_DIR_ENV, PROJECT_ROOT


def _dbt_compile(tmp_path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            dbt_executable(),
            "compile",
            "--project-dir",
            str(PROJECT_ROOT),
            "--profiles-dir",
            str(PROJECT_ROOT),
            "--target-path",
            str(tmp_path / "target"),
            "--select",
            "int_fx__revenue_rates",
        ],
        env={**os.environ, DATA_DIR_ENV: str(tmp_path / "data"), **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_reporting_currency_other_than_usd_stops_the_build_and_says_why(tmp_path):
    (tmp_path / "data").mkdir()
    refused = _dbt_compile(tmp_path, LLM_MARGIN_REPORTING_CURRENCY="eur")
    assert refused.returncode != 0
    assert "LLM_MARGIN_REPORTING_CURRENCY is EUR, but only USD can be reported" in refused.stdout

    accepted = _dbt_compile(tmp_path, LLM_MARGIN_REPORTING_CURRENCY="usd")
    assert accepted.returncode == 0, accepted.stdout
    compiled = next((tmp_path / "target").rglob("int_fx__revenue_rates.sql")).read_text()
    assert "where rates.currency = 'USD'" in compiled


def test_the_currencies_seed_knows_the_units_stripe_documents():
    # Stripe's zero-decimal and three-decimal currencies (docs: "Supported currencies").
    exponents = minor_unit_exponents()
    assert {exponents[c] for c in ("JPY", "KRW", "VND", "CLP", "XOF")} == {0}
    assert {exponents[c] for c in ("BHD", "JOD", "KWD", "OMR", "TND")} == {3}
    assert exponents["USD"] == exponents["EUR"] == exponents["GBP"] == 2
    with SEED.open(newline="") as handle:
        codes = [row["currency"] for row in csv.DictReader(handle)]
    assert len(codes) == len(set(codes))
    assert all(len(code) == 3 and code.isupper() for code in codes)
