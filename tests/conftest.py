"""Shared fixtures: an isolated data directory per test and helpers to land files."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import Phase, settings

from orchestration.paths import DATA_DIR_ENV, DataPaths

# postgres_server / postgres_url: a throwaway PostgreSQL server for the session;
# headless_chromium: the browser for tests/test_browser_*.py, and their screenshots
pytest_plugins = ["postgres_server", "headless_chromium"]

# Every dbt data test run by the suite (make test, CI) reads whole tables, incremental run or not;
# production incremental runs read only the days they rebuilt (macros/data_test_window.sql).
# tests/test_data_test_window.py sets it per dbt call to test both.
os.environ.setdefault("LLM_MARGIN_DATA_TESTS", "whole_table")

GOOD_EVENT = {
    "event_id": "evt-1",
    "occurred_at": "2025-03-01T10:00:00Z",
    "customer_id": "cus-1",
    "workspace_id": "ws-1",
    "feature": "chat_assistant",
    "user_id": "usr-1",
    "task_id": "task-1",
    "attempt": 1,
    "provider": "openai",
    "model": "gpt-4o",
    "route": "chat-primary",
    "prompt_tokens": 1200,
    "cached_prompt_tokens": 200,
    "completion_tokens": 300,
    "status": "success",
    "outcome": "accepted",
}


@pytest.fixture(scope="session")
def generated_and_built(tmp_path_factory) -> DataPaths:
    """One small generated data set, built once per session: 12 days ending Sunday 2026-11-22,
    so ISO week 2026-W47 is whole and 2026-W46 partial (Wednesday to Sunday).

    It is built by two `llm-margin materialize` processes started at once on the data directory:
    one builds, the other must refuse (tests/test_data_dir_lock.py reads what each printed), so
    every test of the shared build also checks that the refused one changed nothing."""
    from orchestration import cli

    root = tmp_path_factory.mktemp("e2e") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DATA_DIR_ENV, str(root))
        mp.delenv("DAGSTER_HOME", raising=False)  # the instance in <data dir>/dagster_home
        args = ["--events", "3000", "--days", "12", "--customers", "6", "--seed", "13"]
        assert cli.main(["generate", *args, "--quiet"]) == 0
        command = [
            sys.executable,
            "-m",
            "orchestration.cli",
            "materialize",
            "--log-level",
            "WARNING",
        ]
        # run as a deployment would: a webhook URL with a token, a Stripe key and a PostgreSQL
        # password in the environment (tests/test_no_leaks.py looks for them in every output)
        env = {**os.environ, **FAKE_SECRETS}
        both = [
            subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
            )
            for _ in range(2)
        ]
        outcomes = []
        for process in both:
            printed, _ = process.communicate(timeout=1800)
            outcomes.append({"pid": process.pid, "code": process.returncode, "printed": printed})
    (root.parent / CONCURRENT_MATERIALIZE).write_text(json.dumps(outcomes, indent=1))
    built = [o for o in outcomes if o["code"] == 0]
    assert len(built) == 1, outcomes
    # what the command that built prints, for tests/test_cli_materialize.py
    (root.parent / MATERIALIZE_OUTPUT).write_text(built[0]["printed"])
    return DataPaths(root)


# Secrets in the environment of the shared build; the webhook port refuses connections, so the
# alerts wait in the outbox as they do without a webhook.
FAKE_WEBHOOK_TOKEN = "T0KEN-f4k3-5ecret-9c2e"
FAKE_SECRETS = {
    "LLM_MARGIN_ALERT_WEBHOOK_URL": f"http://127.0.0.1:9/hooks/{FAKE_WEBHOOK_TOKEN}",
    "STRIPE_API_KEY": "sk_live_f4k3StripeKey0000000000",
    "PGPASSWORD": "pg-f4k3-pa55word",
}

# The output of the shared build's `llm-margin materialize`, beside its data directory.
MATERIALIZE_OUTPUT = "materialize-output.txt"
# Pid, exit code and output of both commands started at once for the shared build.
CONCURRENT_MATERIALIZE = "concurrent-materialize.json"


@pytest.fixture(autouse=True)
def _no_shared_dagster_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """Never the developer's Dagster instance (`make test` exports DAGSTER_HOME): a test's
    `llm-margin materialize` uses <its data dir>/dagster_home."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


@pytest.fixture(scope="module")
def built(generated_and_built: DataPaths):
    """The shared built data set, with ``$LLM_MARGIN_DATA_DIR`` pointing at it for the module.
    Modules that use it run in file order and may add data (say so in the test)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DATA_DIR_ENV, str(generated_and_built.root))
        yield generated_and_built


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DataPaths:
    root = tmp_path / "data"
    monkeypatch.setenv(DATA_DIR_ENV, str(root))
    return DataPaths(root).ensure()


def event(**changes) -> dict:
    record = dict(GOOD_EVENT)
    for key, value in changes.items():
        if value is _DROP:
            record.pop(key, None)
        else:
            record[key] = value
    return record


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


_DROP = _Drop()
DROP = _DROP


def write_jsonl(path: Path, lines: list[dict | str], *, compress: bool = False) -> Path:
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


# A separate process, as a BI tool is: it opens the serving file read-only, answers one query per
# line it reads, and keeps its connection open until stdin closes.
READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
for line in sys.stdin:
    print(con.execute(line).fetchall(), flush=True)
"""


class HeldReader:
    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", READER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, sql: str) -> str:
        self.process.stdin.write(sql.replace("\n", " ") + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, "the reader process died"
        return answer.strip()

    def close(self) -> None:
        self.process.stdin.close()
        assert self.process.wait(timeout=30) == 0


# Hypothesis (the property tests, tests/test_contract_properties.py): `make test` runs the "ci"
# profile, a bounded number of examples drawn the same way every run (derandomized, so CI is
# reproducible); `make fuzz` runs the "fuzz" profile (HYPOTHESIS_PROFILE=fuzz), many more
# examples, random each run. No deadline: one example loads a whole file.
settings.register_profile(
    "ci", max_examples=12, derandomize=True, deadline=None, database=None, print_blob=True
)
settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "1500")),
    deadline=None,
    print_blob=True,
)
# While writing a property test: no shrinking, so a failure shows at once (unshrunk).
settings.register_profile(
    "dev",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "20")),
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
