"""``python -m bench.torture``: the torture run (issue 19, docs/reliability.md).

On one data directory, in sequence, each step followed by a normal ``llm-margin materialize``:
re-delivery of every usage file under a new name and re-serialised; a kill -9 of the whole process
group during ingestion and another during the dbt build; late events and re-versions; thousands
of malformed records and unreadable files; hostile identifiers; a price correction; a reader
holding the serving file open; the alert webhook down then back; a final run that must change
nothing. Then a clean build of the same landing files in a second data directory, compared table
by table, and the events counted from the landing files without the pipeline
(bench/torture_counts.py). Prints one line:

    events N, quarantined Q, kills survived K, lost L, doubled D, alerts delivered once A/B

``--quick`` (the CI test, tests/test_torture.py) lands the same inputs in fewer rounds: the first
build is the one killed during ingestion; re-delivery, late events, re-versions, malformed
records, hostile ids, the price correction and the webhook outage land together, and that build
is killed during dbt and run again while a reader holds the serving file; the webhook comes back
for the final run, which must change nothing."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb

from bench import torture_counts as counts
from bench import torture_inputs as inputs

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

# what the materialize log shows when a stage is under way (--log-level DEBUG)
INGEST_STARTED = re.compile(r'ingest_usage_events - STEP_START|step "ingest_usage_events"')
INGEST_DONE = re.compile(r"ingest_usage_events - STEP_SUCCESS")
DBT_NODE_STARTED = re.compile(r"^(\d+) of (\d+) START ", re.M)
DBT_DONE = re.compile(r"Finished running .* in ")


class Webhook:
    """A local alert receiver on 127.0.0.1: answers 500 while down, 200 while up, and records
    every POST's alert id and the status it answered."""

    def __init__(self) -> None:
        self.up = False
        self.posts: list[tuple[str, int]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    alert_id = json.loads(body)["alert"]["alert_id"]
                except (ValueError, KeyError, TypeError):
                    alert_id = "?"
                status = 200 if hook.up else 500
                hook.posts.append((alert_id, status))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"down")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def delivered(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for alert_id, status in self.posts:
            if status == 200:
                out[alert_id] = out.get(alert_id, 0) + 1
        return out

    def close(self) -> None:
        self.server.shutdown()


class Reader:
    """A BI reader: one read-only DuckDB connection to the serving file held open for the whole
    time, querying in a loop, plus a fresh connection every tenth query."""

    def __init__(self, serving: Path) -> None:
        self.serving = serving
        self.queries = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _query(self, con) -> None:
        con.execute("select count(*), sum(prompt_tokens) from marts.fct_llm_calls").fetchall()
        self.queries += 1

    def _loop(self) -> None:
        held = duckdb.connect(str(self.serving), read_only=True)
        while not self._stop.is_set():
            try:
                self._query(held)
                if self.queries % 10 == 0:
                    with duckdb.connect(str(self.serving), read_only=True) as fresh:
                        self._query(fresh)
            except Exception as exc:  # every failure is a finding
                self.errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.2)
        held.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


@dataclass
class Run:
    label: str
    code: int | None
    seconds: float
    killed_in: str | None = None  # the stage the kill landed in, if it did
    output: str = ""


@dataclass
class Torture:
    data: Path
    webhook: Webhook
    copies: dict[str, str] = field(default_factory=dict)
    torture_valid: set[str] = field(default_factory=set)
    planted_invalid: int = 0
    runs: list[Run] = field(default_factory=list)
    reader: Reader | None = None
    notes: list[str] = field(default_factory=list)
    correction: tuple[str, str] | None = None
    # the webhook URL is in the runs' environment from the webhook step on (unset, alerts wait
    # in the outbox: docs/budgets.md); set earlier, the outbox's backoff after many failed
    # attempts would make the "back" step wait for up to an hour
    webhook_on: bool = False

    @property
    def landing(self) -> Path:
        return self.data / "landing" / "usage_events"

    def env(self, data: Path | None = None, webhook: bool = True) -> dict:
        data = data or self.data
        env = dict(os.environ)
        env.update(
            LLM_MARGIN_DATA_DIR=str(data),
            DAGSTER_HOME=str(data / "dagster_home"),
            PYTHONUNBUFFERED="1",
        )
        env.pop("LLM_MARGIN_ALERT_WEBHOOK_URL", None)
        if webhook and self.webhook_on:
            env["LLM_MARGIN_ALERT_WEBHOOK_URL"] = self.webhook.url
        return env

    def say(self, text: str) -> None:
        print(f"[torture {datetime.now(UTC):%H:%M:%S}] {text}", flush=True)

    def materialize(
        self, label: str, kill: str | None = None, data: Path | None = None, webhook=True
    ) -> Run:
        """One ``llm-margin materialize`` in its own process group; with ``kill`` ('ingest' or
        'dbt'), SIGKILL the whole group once the log shows that stage under way."""
        data = data or self.data
        logs = data / "logs"
        before = set(logs.glob("materialize-*.log")) if logs.exists() else set()
        cmd = [PY, "-m", "orchestration.cli", "materialize", "--log-level", "DEBUG"]
        started = time.monotonic()
        out_path = data.parent / f"{data.name}-{label}.out"
        with open(out_path, "w") as out:
            proc = subprocess.Popen(
                cmd,
                cwd=ROOT,
                env=self.env(data, webhook),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches dbt too
            )
            killed_in = None
            if kill:
                killed_in = self._kill_when(proc, logs, before, kill)
            code = proc.wait()
        run = Run(label, code, time.monotonic() - started, killed_in, out_path.read_text())
        self.runs.append(run)
        state = f"killed during {killed_in}" if killed_in else f"exit {code}"
        self.say(f"{label}: {state} after {run.seconds:.0f} s")
        if not kill and code != 0:
            self.say(run.output[-3000:])
        return run

    def _kill_when(self, proc, logs: Path, before: set, stage: str) -> str | None:
        log = None
        while proc.poll() is None:
            if log is None:
                new = set(logs.glob("materialize-*.log")) - before if logs.exists() else set()
                log = next(iter(new), None)
            text = log.read_text(errors="replace") if log else ""
            if stage == "ingest" and INGEST_STARTED.search(text) and not INGEST_DONE.search(text):
                os.killpg(proc.pid, signal.SIGKILL)
                return "ingestion"
            if stage == "dbt":
                # the build (hundreds of nodes), not a one-node dbt call before it
                started = [(int(n), int(t)) for n, t in DBT_NODE_STARTED.findall(text)]
                node, total = started[-1] if started else (0, 0)
                if total > 100 and node >= 20 and not DBT_DONE.search(text):
                    os.killpg(proc.pid, signal.SIGKILL)
                    return f"the dbt build (node {node} of {total} started)"
            time.sleep(0.02)
        return None

    def originals(self) -> list[Path]:
        return sorted(
            p
            for p in self.landing.iterdir()
            if p.is_file() and not p.name.startswith("torture-") and p.name not in self.copies
        )

    def truth_valid(self) -> set[str]:
        import pyarrow.parquet as pq

        rows = pq.read_table(self.data / "truth" / "events.parquet").to_pylist()
        return {r["event_id"] for r in rows if r["fault"] is None and r["event_id"]}

    def take(self, landed: inputs.Landed) -> None:
        self.copies.update(landed.copies)
        self.torture_valid |= landed.valid_ids
        self.planted_invalid += landed.invalid_records
        self.notes += landed.notes

    # ---- the steps -------------------------------------------------------------------------

    def step_redeliver(self, tag: str, variant: int = 0) -> None:
        landed = inputs.reserialise(self.landing, self.originals(), tag, variant)
        self.take(landed)
        self.say(f"re-delivered {len(landed.copies)} usage files re-serialised ({tag})")

    def step_late(self, seed: int, late: int) -> None:
        landed = inputs.late_and_reversions(
            self.landing, self.originals(), seed, late, late, self.truth_valid()
        )
        self.take(landed)
        self.say(f"landed {', '.join(landed.notes)}")

    def step_malformed(self, seed: int, per_kind: int) -> None:
        landed = inputs.malformed(self.landing, self.originals(), seed, per_kind)
        self.take(landed)
        self.say(
            f"landed {landed.invalid_records:,} malformed records and "
            f"{len(landed.unreadable_files)} unreadable files"
        )

    def step_hostile(self, seed: int) -> None:
        landed = inputs.hostile(self.landing, self.originals(), seed, self.truth_valid())
        self.take(landed)
        self.say(f"landed {len(landed.valid_ids)} events with hostile ids")

    def step_price_correction(self) -> None:
        """Correct the price of the most used catalog-priced model from the first day on."""
        with duckdb.connect(str(self.data / "warehouse.duckdb"), read_only=True) as con:
            provider, model, first = con.execute(
                "select provider, model, min(event_date) from staging.stg_usage__events "
                "group by all order by count(*) desc limit 1"
            ).fetchone()
        pricing = self.data / "landing" / "pricing"
        inputs.price_correction(pricing, provider, model, first.isoformat())
        self.correction = (provider, model)
        self.say(f"landed a negotiated price correction for {provider}/{model} from {first}")


def _deliver_due_wait(data: Path) -> None:
    """Wait until every undelivered outbox message is due again (its backoff has passed)."""
    path = data / "alerts" / "outbox.sqlite3"
    if not path.exists():
        return
    with sqlite3.connect(path) as con:
        row = con.execute(
            "select max(next_attempt_at) from outbox where delivered_at is null"
        ).fetchone()
    if row and row[0]:
        due = datetime.fromisoformat(row[0].replace("Z", "+00:00"))
        wait = (due - datetime.now(UTC)).total_seconds()
        if wait > 0:
            time.sleep(wait + 1)


def _outbox(data: Path) -> list[dict]:
    path = data / "alerts" / "outbox.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as con:
        con.row_factory = sqlite3.Row
        return [dict(r) for r in con.execute("select * from outbox")]


def run(args: argparse.Namespace) -> dict:
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="llm-margin-torture-"))
    if work.exists() and args.work_dir:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    data, clean = work / "data", work / "clean"
    webhook = Webhook()
    t = Torture(data, webhook)
    started = time.monotonic()
    gen = [PY, "-m", "orchestration.cli", "generate", "--quiet", "--events", str(args.events)]
    gen += ["--days", str(args.days), "--customers", str(args.customers), "--seed", str(args.seed)]
    subprocess.run(gen, cwd=ROOT, env=t.env(), check=True)
    t.say(f"generated {args.events:,} events over {args.days} days in {data}")
    kills: list[Run] = []
    normal_after_kill: list[Run] = []

    def killed_then_normal(label: str, stage: str) -> None:
        kills.append(t.materialize(f"{label}-killed", kill=stage))
        normal_after_kill.append(t.materialize(f"{label}-after-kill"))

    per_kind = args.malformed_per_kind
    if args.quick:
        t.webhook_on = True  # down from the first build on
        killed_then_normal("first-build", "ingest")
        t.step_redeliver("resent")
        t.step_late(args.seed, args.late)
        t.step_malformed(args.seed, per_kind)
        t.step_hostile(args.seed)
        t.step_price_correction()
        with Reader(data / "serving" / "llm_margin.duckdb") as reader:
            t.reader = reader
            killed_then_normal("everything-landed", "dbt")
        webhook.up = True
        _deliver_due_wait(data)
    else:
        t.materialize("baseline")
        t.step_redeliver("resent")
        t.materialize("step1-redelivered")
        t.step_redeliver("resent-again", variant=1)
        killed_then_normal("step2a-ingest", "ingest")
        killed_then_normal("step2b-dbt", "dbt")
        t.step_late(args.seed, args.late)
        t.materialize("step3-late-and-reversions")
        t.step_malformed(args.seed, per_kind)
        t.materialize("step4-malformed")
        t.step_hostile(args.seed)
        t.materialize("step5-hostile")
        t.step_price_correction()
        t.materialize("step6-price-correction")
        with Reader(data / "serving" / "llm_margin.duckdb") as reader:
            t.reader = reader
            t.materialize("step7-reader-1")
            t.materialize("step7-reader-2")
        t.webhook_on = True
        t.materialize("step8-webhook-down")
        webhook.up = True
        _deliver_due_wait(data)
        t.materialize("step8-webhook-back")
    warehouse, volatile = data / "warehouse.duckdb", counts.VOLATILE_COLUMNS
    before = (counts.fingerprint(warehouse, volatile), counts.fingerprint(warehouse))
    lake_before = counts.lake_files(data / "lake")
    final = t.materialize("step9-final")
    after = (counts.fingerprint(warehouse, volatile), counts.fingerprint(warehouse))
    # the data (every column but the wall-clock ones) must not change; a table whose wall-clock
    # columns alone changed was rewritten with the same rows, reported apart
    changed = sorted(k for k in before[0] if before[0][k] != after[0].get(k))
    changed += sorted(set(after[0]) ^ set(before[0]))
    restamped = sorted(k for k in before[1] if before[1][k] != after[1].get(k) and k not in changed)
    lake_changed = sorted(set(lake_before) ^ set(counts.lake_files(data / "lake")))

    # the clean build: the same landing files, one run, no webhook
    shutil.copytree(data / "landing", clean / "landing")
    shutil.copytree(data / "truth", clean / "truth")
    clean_run = t.materialize("clean-build", data=clean, webhook=False)
    diffs, missing, left_out = counts.compare_warehouses(
        data / "warehouse.duckdb", clean / "warehouse.duckdb"
    )

    expected = counts.expected_events(
        t.landing, data / "truth" / "events.parquet", t.copies, t.torture_valid
    )
    check = counts.check_events(data / "warehouse.duckdb", expected)
    quarantined = counts.quarantined(data / "warehouse.duckdb")
    outbox = [m for m in _outbox(data)]
    delivered = webhook.delivered()
    once = sum(1 for m in outbox if delivered.get(m["alert_id"]) == 1)
    survived = sum(
        1
        for k, n in zip(kills, normal_after_kill, strict=True)
        if k.killed_in and n.code == 0 and not check.lost and not check.doubled
    )
    result = {
        "events": check.events,
        "expected_events": len(expected.events),
        "quarantined": quarantined,
        "planted_invalid": t.planted_invalid,
        "kills": [k.killed_in for k in kills],
        "kills_survived": survived,
        "lost": len(check.lost),
        "doubled": check.doubled,
        "lost_ids": check.lost[:20],
        "unexpected_ids": check.unexpected[:20],
        "wrong_version": len(check.wrong_version),
        "wrong_version_ids": check.wrong_version[:20],
        "alerts_once": once,
        "alerts": len(outbox),
        "webhook_posts": len(webhook.posts),
        "webhook_failed_posts": sum(1 for _, s in webhook.posts if s != 200),
        "final_run_code": final.code,
        "final_changed_tables": changed,
        "final_changed_lake_files": lake_changed,
        "final_restamped_tables": restamped,
        "clean_build_code": clean_run.code,
        "tables_differing": [d.__dict__ for d in diffs if not d.by_design],
        "tables_with_history": [d.__dict__ for d in diffs if d.by_design],
        "tables_missing": missing,
        "columns_left_out": left_out,
        "reader_queries": t.reader.queries if t.reader else 0,
        "reader_errors": t.reader.errors[:10] if t.reader else [],
        "failed_runs": [r.label for r in t.runs if r.code not in (0, -9) and not r.killed_in],
        "unreadable_files_skipped_by_count": expected.unreadable,
        "seconds": round(time.monotonic() - started),
        "runs": [(r.label, r.code, round(r.seconds), r.killed_in) for r in t.runs],
        "work_dir": str(work),
    }
    webhook.close()
    return result


def summary_line(r: dict) -> str:
    return (
        f"events {r['events']}, quarantined {r['quarantined']}, kills survived "
        f"{r['kills_survived']}, lost {r['lost']}, doubled {r['doubled']}, alerts delivered once "
        f"{r['alerts_once']}/{r['alerts']}"
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.torture", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=20000, help="generated usage events (SIZE)")
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--customers", type=int, default=12)
    p.add_argument("--seed", type=int, default=19)
    p.add_argument("--late", type=int, default=200, help="late events, and as many re-versions")
    p.add_argument("--malformed-per-kind", type=int, default=150)
    p.add_argument("--quick", action="store_true", help="the same inputs in fewer builds (CI)")
    p.add_argument("--work-dir", type=Path, help="where the two data directories go (wiped)")
    p.add_argument("--json", type=Path, help="write every figure to this JSON file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result = run(args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))
    details = {k: v for k, v in result.items() if k != "runs"}
    print(json.dumps(details, indent=2, default=str))
    for label, code, seconds, killed in result["runs"]:
        print(f"  {label:<28} {'killed in ' + killed if killed else f'exit {code}'}  {seconds} s")
    print(summary_line(result))
    ok = (
        result["lost"] == 0
        and result["doubled"] == 0
        and result["kills_survived"] == 2
        and not result["tables_differing"]
        and not result["tables_missing"]
        and result["alerts_once"] == result["alerts"]
        and not result["final_changed_tables"]
        and not result["reader_errors"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
