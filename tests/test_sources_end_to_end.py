"""The same traffic through three sources gives the same calls, tasks, costs and margins.

One generated data set is built three times with ``llm-margin materialize``: as contract files
(what the generator writes), as OTLP trace files (``--shape otel``: the Collector's file
exporter, children often in an earlier file than the span carrying their customer), and as rows
of the LiteLLM proxy's ``LiteLLM_SpendLogs`` table in a real PostgreSQL, pulled by the
``landing/litellm_spend_logs`` asset. The marts must agree. Then every unit is delivered again
(an OTLP file copied under another name, a second pull) and nothing may change.

Streams that never ended (a start record only) exist only in contract files: an OpenTelemetry
span is exported when it ends, LiteLLM logs a request when it ends. The tasks such a stream
opened are therefore different tasks in the other sources (their next attempt is the first);
those tasks' calls are left out of every side of the comparison (``Unfinished``).
"""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import duckdb
import psycopg
import pytest
from psycopg.types.json import Jsonb

from orchestration import cli
from orchestration.paths import DATA_DIR_ENV, DataPaths
from orchestration.settings import LITELLM_DATABASE_URL_ENV
from sample_data.shapes import final_records, litellm_rows, span_id, task_keys, trace_id, write_otlp

GENERATE = ["--events", "1500", "--days", "5", "--customers", "4", "--seed", "21"]
DDL = Path(__file__).resolve().parent.parent / "orchestration" / "ingest" / "litellm_schema.sql"


def _materialize(root: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(root))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
        code = cli.main(["materialize", "--log-level", "WARNING"])
    assert code == 0, printed.getvalue()


def _copy_other_landing(source: Path, target: Path) -> None:
    for sub in (source / "landing").iterdir():
        if sub.is_dir() and sub.name != "usage_events":
            shutil.copytree(sub, target / "landing" / sub.name, dirs_exist_ok=True)


def _new_database(server_url: str, name: str) -> str:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}"')
        conn.execute(f'create database "{name}"')
    return server_url.rsplit("/", 1)[0] + "/" + name


def insert_spend_logs(url: str, rows: list[dict]) -> None:
    """Rows into LiteLLM_SpendLogs (created from LiteLLM's schema when missing)."""
    with psycopg.connect(url) as conn:
        exists = conn.execute("select to_regclass('\"LiteLLM_SpendLogs\"')").fetchone()[0]
        if exists is None:
            conn.execute(DDL.read_text())
        columns = [c for c in rows[0] if c not in ("metadata", "request_tags")]
        names = ", ".join(f'"{c}"' for c in [*columns, "metadata", "request_tags"])
        marks = ", ".join(["%s"] * (len(columns) + 2))
        with conn.cursor() as cur:
            cur.executemany(
                f'insert into "LiteLLM_SpendLogs" ({names}) values ({marks})',
                [
                    [row[c] for c in columns] + [Jsonb(row["metadata"]), Jsonb(row["request_tags"])]
                    for row in rows
                ],
            )


@pytest.fixture(scope="module")
def three_builds(tmp_path_factory, postgres_url):
    """(contract, otel, litellm) data directories, each built, and the contract records."""
    base = tmp_path_factory.mktemp("sources")
    contract, otel, litellm = base / "contract", base / "otel", base / "litellm"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("DAGSTER_HOME", raising=False)
        mp.setenv(DATA_DIR_ENV, str(contract))
        assert cli.main(["generate", *GENERATE, "--quiet"]) == 0
        records = final_records(contract)

        write_otlp(records, otel / "landing" / "otel", lines_per_file=6, spans_per_line=40)
        _copy_other_landing(contract, otel)

        database = _new_database(postgres_url, "litellm_e2e")
        insert_spend_logs(database, litellm_rows(records))
        _copy_other_landing(contract, litellm)

        _materialize(contract, mp)
        _materialize(otel, mp)
        _materialize(litellm, mp, **{LITELLM_DATABASE_URL_ENV: database})
    return DataPaths(contract), DataPaths(otel), DataPaths(litellm), records, database


def _ask(paths: DataPaths, sql: str) -> list[tuple]:
    with duckdb.connect(str(paths.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _quoted(ids) -> str:
    ids = [str(e).replace("'", "''") for e in ids]
    return "(" + ", ".join(f"'{e}'" for e in ids) + ")" if ids else "('')"


def _compared(records, contract: DataPaths) -> dict[str, str]:
    """Per source, a SQL condition on fct_llm_calls' event_id: the calls to compare. Left out:
    the unfinished streams, and every call of a task one of them opened (module docstring)."""
    unfinished = _ask(
        contract,
        "select distinct task_id from marts.fct_llm_calls where is_incomplete",
    )
    opened = {row[0] for row in unfinished}
    keys = task_keys(records)
    left_out = records[
        records["event_id"].isin(
            [
                e
                for e, t in _ask(contract, "select event_id, task_id from marts.fct_llm_calls")
                if t in opened
            ]
        )
    ]
    otel_ids = [
        f"{trace_id(key)}:{span_id(event)}"
        for event, key in zip(left_out["event_id"], keys[left_out.index], strict=True)
    ]
    kept = records[~records["event_id"].isin(left_out["event_id"])]
    return {
        "contract": f"event_id in {_quoted(kept['event_id'])}",
        "litellm": f"event_id not in {_quoted(left_out['event_id'])}",
        "otel": f"event_id not in {_quoted(otel_ids)}",
    }


def _by_customer_month(paths: DataPaths, where: str) -> list[tuple]:
    return _ask(
        paths,
        f"""
        select customer_id, date_trunc('month', event_date) as month, count(*) as calls,
            count(distinct task_id) as tasks, round(sum(cost_usd), 9) as cost_usd,
            sum(prompt_tokens) as prompt_tokens, sum(cached_prompt_tokens) as cached,
            sum(completion_tokens) as completion_tokens,
            count(*) filter (where status = 'success') as successes,
            count(*) filter (where attempt_kind = 'retry') as retries,
            count(*) filter (where attempt_kind = 'fallback') as fallbacks
        from marts.fct_llm_calls where {where}
        group by all order by all
        """,
    )


def test_the_same_calls_tasks_and_costs_through_every_source(three_builds):
    contract, otel, litellm, records, _ = three_builds
    compared = _compared(records, contract)
    expected = _by_customer_month(contract, compared["contract"])
    assert sum(row[9] for row in expected) > 0 and sum(row[10] for row in expected) > 0
    assert _by_customer_month(otel, compared["otel"]) == expected
    assert _by_customer_month(litellm, compared["litellm"]) == expected


def test_the_same_margins_through_every_source(three_builds):
    """Revenue, and AI cost less the calls left out of the comparison, per customer and month."""
    contract, otel, litellm, records, _ = three_builds
    compared = _compared(records, contract)

    def margins(paths: DataPaths, where: str) -> list[tuple]:
        return _ask(
            paths,
            f"""
            with left_out as (
                select coalesce(customer_id, '(untagged)') as customer_id,
                    date_trunc('month', event_date)::date as month, sum(cost_usd) as cost
                from marts.fct_llm_calls
                where not ({where})
                group by all
            )
            select * from (
                select m.customer_id, m.month, round(m.revenue_usd, 6) as revenue,
                    round(m.ai_cost_usd - coalesce(l.cost, 0), 6) as cost
                from marts.mart_customer_monthly_margin as m
                left join left_out as l on m.customer_id = l.customer_id and m.month = l.month
            )
            where revenue <> 0 or cost <> 0  -- a row only the left-out calls made
            order by all
            """,
        )

    expected = margins(contract, compared["contract"])
    assert expected and any(row[2] for row in expected)  # there is revenue to compare
    assert margins(otel, compared["otel"]) == expected
    assert margins(litellm, compared["litellm"]) == expected


def test_nothing_is_quarantined_from_clean_sources(three_builds):
    _, otel, litellm, _, _ = three_builds
    for paths in (otel, litellm):
        assert _ask(paths, "select count(*) from audit.quarantined_usage_events") == [(0,)]


def test_the_gateway_figure_sits_next_to_the_exact_price(three_builds):
    _, _, litellm, records, _ = three_builds
    rows = _ask(
        litellm,
        "select sum(calls), sum(gateway_cost_usd), sum(llm_margin_cost_usd), "
        "sum(difference_usd) from marts.mart_gateway_cost_comparison",
    )
    calls, gateway, ours, difference = rows[0]
    assert calls == len(records)
    assert gateway != ours  # the generator misprices on purpose, as LiteLLM does
    assert difference == gateway - ours


def test_delivering_everything_again_changes_nothing(three_builds, monkeypatch):
    _, otel, litellm, _, database = three_builds
    everything = "true"
    before = {p: _by_customer_month(p, everything) for p in (otel, litellm)}
    first_otlp = sorted((otel.landing / "otel").glob("traces-*"))[0]
    shutil.copy(first_otlp, first_otlp.with_name("redelivered-" + first_otlp.name))
    _materialize(otel.root, monkeypatch)
    _materialize(litellm.root, monkeypatch, **{LITELLM_DATABASE_URL_ENV: database})
    for paths, numbers in before.items():
        assert _by_customer_month(paths, everything) == numbers
    pulls = sorted((litellm.landing / "litellm" / "postgres").glob("spend-logs-*.jsonl"))
    assert len(pulls) == 1  # the second pull found nothing new and wrote no file
