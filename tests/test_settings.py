"""The settings resource: every field has its environment variable, documented; the serving
PostgreSQL fields read the environment at run time and refuse a reader role that is no name."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.paths import PROJECT_ROOT
from orchestration.settings import (
    ENVIRONMENT,
    SERVING_POSTGRES_READER_ENV,
    SERVING_POSTGRES_URL_ENV,
    Settings,
    SettingsError,
)


def test_every_setting_has_an_environment_variable_listed_in_the_data_directory_docs():
    docs = (PROJECT_ROOT / "docs" / "data-directory.md").read_text()
    assert set(ENVIRONMENT) == set(Settings.model_fields)
    for field, (variable, _) in ENVIRONMENT.items():
        assert f"| `{field}` | `{variable}`" in docs, field


def test_the_serving_postgres_url_comes_from_the_config_else_the_environment(monkeypatch):
    monkeypatch.delenv(SERVING_POSTGRES_URL_ENV, raising=False)
    assert Settings().serving_postgres() is None
    monkeypatch.setenv(SERVING_POSTGRES_URL_ENV, "  postgresql://u:p@db:5432/bi  ")
    assert Settings().serving_postgres() == "postgresql://u:p@db:5432/bi"
    assert Settings(serving_postgres_url="postgresql://other/x").serving_postgres() == (
        "postgresql://other/x"
    )
    assert Settings(serving_postgres_url="").serving_postgres() is None  # configured off


def test_the_reader_role_defaults_and_must_be_a_plain_name(monkeypatch):
    monkeypatch.delenv(SERVING_POSTGRES_READER_ENV, raising=False)
    assert Settings().serving_postgres_reader() == "llm_margin_reader"
    monkeypatch.setenv(SERVING_POSTGRES_READER_ENV, "bi_readers")
    assert Settings().serving_postgres_reader() == "bi_readers"
    with pytest.raises(SettingsError, match=SERVING_POSTGRES_READER_ENV):
        Settings(serving_postgres_reader_role='x"; drop table y').serving_postgres_reader()


def test_a_configured_data_dir_is_used_as_a_path(tmp_path: Path):
    paths = Settings(data_dir=str(tmp_path / "d")).paths()
    assert paths.root == tmp_path / "d" and paths.serving.is_dir()


def test_the_reporting_currency_is_usd_and_another_is_refused_with_the_reason():
    from orchestration.settings import reporting_currency

    assert reporting_currency({}) == "USD"
    assert reporting_currency({"LLM_MARGIN_REPORTING_CURRENCY": " usd "}) == "USD"
    with pytest.raises(SettingsError, match="is GBP, but only USD can be reported"):
        reporting_currency({"LLM_MARGIN_REPORTING_CURRENCY": "gbp"})


def test_materialize_refuses_another_reporting_currency_before_building(
    data_dir, monkeypatch, capsys
):
    from orchestration import cli

    monkeypatch.setenv("LLM_MARGIN_REPORTING_CURRENCY", "EUR")
    assert cli.main(["materialize"]) == 2
    assert "LLM_MARGIN_REPORTING_CURRENCY is EUR" in capsys.readouterr().err
    assert not (data_dir.root / "dagster_home").exists()  # nothing started
