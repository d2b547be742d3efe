"""The dbt resource knows the virtualenv's dbt version without starting a second dbt process."""

from __future__ import annotations

import re
import subprocess
import sys

from dagster_dbt.core import resource as dagster_dbt_resource

from orchestration.dbt.project import dbt_executable
from orchestration.resources import LlmMarginDbtCli, dbt_resource


def test_the_virtualenvs_dbt_version_is_what_dbt_version_prints(monkeypatch):
    printed = subprocess.run(
        [dbt_executable(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    stated = re.search(r"installed:\s*(\d+\.\d+\.\d+)", printed).group(1)

    def no_second_dbt(*args, **kwargs):
        raise AssertionError(f"dbt was run to learn its version: {args}")

    monkeypatch.setattr(dagster_dbt_resource, "check_output", no_second_dbt)
    assert str(dbt_resource()._cli_version) == stated


def test_any_other_dbt_executable_is_still_asked(monkeypatch):
    other = sys.executable  # an executable that is not the virtualenv's dbt
    asked = []

    def fake_check_output(args, *rest, **kwargs):
        asked.append(args)
        return b"Core:\n  - installed: 9.8.7\n"

    monkeypatch.setattr(dagster_dbt_resource, "check_output", fake_check_output)
    project_dir = dbt_resource().project_dir
    resource = LlmMarginDbtCli(project_dir=project_dir, dbt_executable=other)
    assert str(resource._cli_version) == "9.8.7"
    assert asked == [[other, "--version"]]


def test_a_dbt_command_opens_no_adapter_in_the_dagster_process(tmp_path, monkeypatch):
    # dagster-dbt opens one (1.2 s) only to fetch row counts and column metadata, which this
    # project never asks for; the dbt subprocess still runs the command
    monkeypatch.setenv("LLM_MARGIN_DATA_DIR", str(tmp_path))
    invocation = dbt_resource().cli(
        ["ls", "--select", "stg_usage__events", "--resource-type", "model", "--output", "name"],
        target_path=tmp_path / "target",
    )
    listed = [
        event.raw_event["info"]["msg"]
        for event in invocation.stream_raw_events()
        if event.raw_event["info"]["name"] == "PrintEvent"
    ]
    assert invocation.is_successful()
    assert invocation.adapter is None
    assert listed == ["stg_usage__events"]
