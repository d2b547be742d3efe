"""A dbt command in another data directory starts from the saved parse (partial parsing), and
sees that data directory's files; a saved parse for other settings is left to dbt."""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgpack
import pytest

from orchestration.dbt import saved_parse
from orchestration.dbt.project import dbt_parse
from orchestration.dbt.saved_parse import SAVED_PARSE, copy_saved_parse
from orchestration.paths import DATA_DIR_ENV, PROJECT_ROOT


def _parse(target_path: Path, data_dir: Path) -> str:
    """``dbt parse`` of the DuckDB target for ``data_dir`` into ``target_path``; dbt's log."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "LLM_MARGIN_"))}
    env |= {DATA_DIR_ENV: str(data_dir), "DBT_LOG_PATH": str(target_path)}
    dbt_parse("duckdb", target_path, env=env)
    return (target_path / "dbt.log").read_text()


def _copy(saved: Path, into: Path) -> bool:
    return copy_saved_parse(
        saved, into, project_dir=PROJECT_ROOT, profiles_dir=PROJECT_ROOT, target="duckdb"
    )


@pytest.fixture(scope="module")
def saved_in_first_dir(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("first-target")
    _parse(target, tmp_path_factory.mktemp("first-data"))
    return target / SAVED_PARSE


def test_another_data_directory_parses_partially_and_reads_its_own_files(
    saved_in_first_dir, tmp_path, monkeypatch
):
    second = tmp_path / "second-data"
    second.mkdir()
    target = tmp_path / "second-target"
    monkeypatch.setenv(DATA_DIR_ENV, str(second))
    monkeypatch.delenv("LLM_MARGIN_DUCKDB_MEMORY_LIMIT", raising=False)

    assert _copy(saved_in_first_dir, target) is True
    log = _parse(target, second)

    assert "Partial parsing enabled" in log
    assert "Unable to do partial parsing" not in log
    manifest = json.loads((target / "manifest.json").read_text())
    events = manifest["sources"]["source.llm_margin.usage.events"]
    location = events["config"]["meta"].get("external_location") or events["meta"].get(
        "external_location"
    )
    assert f"{second}/lake/usage_events/" in location
    first = saved_in_first_dir.parent
    assert all(str(first) not in json.dumps(s) for s in manifest["sources"].values())


def test_other_connection_settings_are_left_to_dbt(saved_in_first_dir, tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("LLM_MARGIN_DUCKDB_MEMORY_LIMIT", "1GB")  # a setting, not the directory
    target = tmp_path / "target"

    assert _copy(saved_in_first_dir, target) is False
    assert (target / SAVED_PARSE).read_bytes() == saved_in_first_dir.read_bytes()


def test_the_same_data_directory_is_copied_as_saved(saved_in_first_dir, tmp_path, monkeypatch):
    saved = msgpack.unpackb(saved_in_first_dir.read_bytes(), raw=False, strict_map_key=False)
    monkeypatch.setenv(DATA_DIR_ENV, saved["env_vars"][DATA_DIR_ENV])
    monkeypatch.delenv("LLM_MARGIN_DUCKDB_MEMORY_LIMIT", raising=False)

    profiles_loaded = []
    monkeypatch.setattr(saved_parse, "connection_info", lambda *a, **k: profiles_loaded.append(a))

    assert _copy(saved_in_first_dir, tmp_path / "target") is False
    assert (tmp_path / "target" / SAVED_PARSE).read_bytes() == saved_in_first_dir.read_bytes()
    assert profiles_loaded == []  # dbt's profile is loaded only to stamp another directory's
