"""The local servers listen on 127.0.0.1 unless ``$LLM_MARGIN_BIND_HOST`` says otherwise:
``make dagster``, ``make docs-serve`` (their commands as make would run them) and the local
PostgreSQL of ``make serve-postgres`` (tests/test_serving_postgres_local.py asks the server)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.bind import BIND_HOST_ENV, BindHostError, bind_host
from orchestration.paths import PROJECT_ROOT
from orchestration.serving.postgres_local import listen_addresses


def _make_commands(tmp_path: Path, host: str | None) -> dict[str, str]:
    env = {**os.environ, "LLM_MARGIN_DATA_DIR": str(tmp_path / "data")}
    env.pop("DAGSTER_HOME", None)
    env.pop(BIND_HOST_ENV, None)
    if host is not None:
        env[BIND_HOST_ENV] = host
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "dagster", "docs-serve"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {
        "dagster": re.search(r"^\S*dagster dev .*$", printed, re.M)[0],
        "dbt docs": re.search(r"^\S*dbt docs serve .*$", printed, re.M)[0],
    }


def test_the_ui_and_the_docs_server_listen_on_127_0_0_1_by_default(tmp_path):
    commands = _make_commands(tmp_path, None)
    assert " -h '127.0.0.1' " in commands["dagster"], commands
    assert " --host '127.0.0.1' " in commands["dbt docs"], commands
    # an empty variable is unset, not "every address"
    assert _make_commands(tmp_path, "") == commands


def test_llm_margin_bind_host_opens_them_to_another_address(tmp_path):
    commands = _make_commands(tmp_path, "0.0.0.0")
    assert " -h '0.0.0.0' " in commands["dagster"], commands
    assert " --host '0.0.0.0' " in commands["dbt docs"], commands


def test_the_local_postgres_listens_on_the_bind_host_and_on_the_loopback(monkeypatch):
    monkeypatch.delenv(BIND_HOST_ENV, raising=False)
    assert listen_addresses() == "127.0.0.1"
    monkeypatch.setenv(BIND_HOST_ENV, "10.1.2.3")
    assert listen_addresses() == "127.0.0.1,10.1.2.3"  # this command still connects over it
    monkeypatch.setenv(BIND_HOST_ENV, "*")
    assert listen_addresses() == "*"


@pytest.mark.parametrize(
    "hostile", ["'; drop table x; --", '"', "<script>", "0.0.0.0 -p 1", "héte", "a" * 300]
)
def test_a_bind_host_that_is_not_one_address_is_refused(hostile, tmp_path):
    with pytest.raises(BindHostError, match=BIND_HOST_ENV):
        bind_host({BIND_HOST_ENV: hostile})
    # and the check make runs before starting the UI or the docs server exits with it
    env = {**os.environ, "LLM_MARGIN_DATA_DIR": str(tmp_path / "data"), BIND_HOST_ENV: hostile}
    refused = subprocess.run(
        [sys.executable, "-m", "orchestration.bind"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2 and BIND_HOST_ENV in refused.stderr
