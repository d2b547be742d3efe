"""The PostgreSQL serving target against a real server (the session's ``postgres_url``): what it
publishes, the reader role, the swap seen by readers, and what a failed publish leaves behind.

Each test publishes into a database of its own on the shared server. The shared built data set
(``built``) is published once through the Dagster asset; the swap and failure tests use tiny
serving copies built by hand (tests/test_serving.py's warehouse)."""

from __future__ import annotations

import json
import math
import re
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest
from psycopg import sql
from test_serving import make_warehouse

from orchestration.serving import publish_serving_copy
from orchestration.serving.postgres_publish import (
    APPLICATION_NAME,
    PostgresPublishError,
    publish_to_postgres,
)

SERVED = ("marts", "audit")


def _new_database(postgres_url: str, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return postgres_url.rsplit("/", 1)[0] + "/" + name


def _login_in_role(postgres_url: str, database_url: str, role: str) -> str:
    """A login user that is a member of ``role``, as docs/serving.md tells an admin to make."""
    user = f"bi_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create role {} login password 'bi-password' in role {}").format(
                sql.Identifier(user), sql.Identifier(role)
            )
        )
    rest = database_url.split("@", 1)[1]
    return f"postgresql://{user}:bi-password@{rest}"


def _serving_copy(tmp_path: Path, name: str, amounts: list[int]) -> Path:
    """A serving copy built by the DuckDB publish from a hand-made warehouse."""
    warehouse = tmp_path / f"{name}.duckdb"
    make_warehouse(warehouse, amounts)
    return publish_serving_copy(warehouse, tmp_path / name).path


def _pg_state(url: str) -> dict:
    """Tables, their rows and the two hand-made marts' content, as a reader sees them."""
    with psycopg.connect(url) as conn:
        tables = [
            f"{s}.{t}"
            for s, t in conn.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema = any(%s) order by 1, 2",
                [list(SERVED)],
            ).fetchall()
        ]
        return {
            "tables": tables,
            "rows": {
                t: conn.execute(sql.SQL("select count(*) from {}").format(sql.SQL(t))).fetchone()[0]
                for t in tables
            },
            "schemas": sorted(
                r[0]
                for r in conn.execute(
                    "select nspname from pg_namespace where nspname like any(%s)",
                    [["marts%", "audit%"]],
                ).fetchall()
            ),
        }


# --- the shared built data set, through the Dagster asset ------------------------------------


@pytest.fixture(scope="module")
def published_built(built, postgres_url):
    """The shared build published by the asset ``serving/llm_margin_postgres``."""
    from dagster import materialize

    from orchestration.serving.assets import serving_postgres
    from orchestration.settings import Settings

    url = _new_database(postgres_url, "serving_built")
    result = materialize(
        [serving_postgres],
        resources={
            "settings": Settings(data_dir=str(built.root), serving_postgres_url=url),
        },
    )
    assert result.success
    (event,) = result.asset_materializations_for_node(serving_postgres.op.name)
    return url, {key: value.value for key, value in event.metadata.items()}


def _warehouse_columns(con) -> dict[str, list[tuple[str, str]]]:
    columns: dict[str, list[tuple[str, str]]] = {}
    for schema, table, column, data_type in con.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema in ('marts', 'audit') "
        "order by table_schema, table_name, ordinal_position"
    ).fetchall():
        columns.setdefault(f"{schema}.{table}", []).append((column, data_type))
    return columns


def test_the_built_marts_arrive_with_the_same_tables_rows_and_money_as_the_warehouse(
    built, published_built
):
    url, metadata = published_built
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        warehouse = _warehouse_columns(con)
        expected_rows = {
            t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in warehouse
        }
        # every money column (DECIMAL) summed, every timestamp's range, in the warehouse
        expected_money = {}
        expected_times = {}
        for table, columns in warehouse.items():
            for column, data_type in columns:
                if data_type.startswith("DECIMAL"):
                    expected_money[(table, column)] = con.execute(
                        f'select sum("{column}") from {table}'
                    ).fetchone()[0]
                if data_type.startswith(("TIMESTAMP", "DATE")):
                    expected_times[(table, column)] = con.execute(
                        f'select min("{column}"), max("{column}") from {table}'
                    ).fetchone()
    assert "marts.fct_llm_calls" in warehouse and "audit.usage_event_file_loads" in warehouse
    assert expected_rows["marts.fct_llm_calls"] > 1000

    with psycopg.connect(url) as conn:
        published = _pg_state(url)
        types = {
            (f"{s}.{t}", c): (data_type, precision, scale)
            for s, t, c, data_type, precision, scale in conn.execute(
                "select table_schema, table_name, column_name, data_type, numeric_precision, "
                "numeric_scale from information_schema.columns where table_schema = any(%s)",
                [list(SERVED)],
            ).fetchall()
        }
        money = {
            key: conn.execute(
                sql.SQL("select sum({}) from {}").format(sql.Identifier(key[1]), sql.SQL(key[0]))
            ).fetchone()[0]
            for key in expected_money
        }
        times = {
            key: conn.execute(
                sql.SQL("select min({0}), max({0}) from {1}").format(
                    sql.Identifier(key[1]), sql.SQL(key[0])
                )
            ).fetchone()
            for key in expected_times
        }

    assert published["tables"] == sorted(warehouse)
    assert published["rows"] == expected_rows
    assert published["schemas"] == ["audit", "marts"]  # no load schema left behind
    assert money == expected_money
    assert money[("marts.fct_llm_calls", "cost_usd")] > 0
    assert times == expected_times
    # the columns keep their types: DECIMAL(24,12) is numeric(24,12), TIMESTAMP is timestamp
    for table, columns in warehouse.items():
        for column, data_type in columns:
            decimal = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", data_type)
            if decimal:
                assert types[(table, column)] == (
                    "numeric",
                    int(decimal.group(1)),
                    int(decimal.group(2)),
                ), (table, column)
            elif data_type == "TIMESTAMP":
                assert types[(table, column)][0] == "timestamp without time zone"
            elif data_type == "DATE":
                assert types[(table, column)][0] == "date"
    assert metadata["published"] is True
    assert metadata["tables"] == len(warehouse)
    assert metadata["total_rows"] == sum(expected_rows.values())
    assert "password" not in json.dumps(metadata) and ":" in metadata["database"]


def test_table_and_column_comments_are_the_dbt_descriptions(published_built):
    from orchestration.dbt.project import llm_margin_project

    url, _ = published_built
    manifest = json.loads(llm_margin_project.manifest_path.read_text())
    (node,) = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and n["name"] == "fct_llm_calls"
    ]
    with psycopg.connect(url) as conn:
        table_comment, column_comment = conn.execute(
            "select obj_description('marts.fct_llm_calls'::regclass, 'pg_class'), "
            "col_description('marts.fct_llm_calls'::regclass, "
            "(select attnum from pg_attribute where attrelid = 'marts.fct_llm_calls'::regclass "
            "and attname = 'cost_usd'))"
        ).fetchone()
    assert table_comment == node["description"].strip() and table_comment
    assert column_comment == node["columns"]["cost_usd"]["description"].strip()


def test_the_reader_role_can_select_but_cannot_write_or_create(postgres_url, published_built):
    url, metadata = published_built
    reader = _login_in_role(postgres_url, url, metadata["reader_role"])
    with psycopg.connect(reader) as conn:
        assert conn.execute("select count(*) from marts.fct_llm_calls").fetchone()[0] > 0
        assert conn.execute("select count(*) from audit.usage_event_file_loads").fetchone()[0] > 0
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "insert into marts.mart_gateway_caps select * from marts.mart_gateway_caps"
            )
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from audit.usage_event_file_loads")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("create table marts.mine (x int)")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("drop table marts.fct_llm_calls")


def test_the_asset_says_it_did_not_publish_when_the_url_is_unset(data_dir, monkeypatch):
    from dagster import materialize

    from orchestration.serving.assets import serving_postgres
    from orchestration.settings import SERVING_POSTGRES_URL_ENV, Settings

    monkeypatch.delenv(SERVING_POSTGRES_URL_ENV, raising=False)
    result = materialize([serving_postgres], resources={"settings": Settings()})
    assert result.success
    (event,) = result.asset_materializations_for_node(serving_postgres.op.name)
    assert event.metadata["published"].value is False
    assert SERVING_POSTGRES_URL_ENV in event.metadata["reason"].value


# --- the swap, seen by readers ---------------------------------------------------------------


def _hand_made(url: str) -> tuple:
    """(rows of marts.fct_costs, items and cost of marts.mart_total) in one statement."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select (select count(*) from marts.fct_costs), items, cost_usd from marts.mart_total"
        ).fetchone()


def _wait_until(predicate, what: str, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


def _publisher_waits_for_a_lock(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        return bool(
            conn.execute(
                "select 1 from pg_stat_activity where application_name = %s "
                "and wait_event_type = 'Lock'",
                [APPLICATION_NAME],
            ).fetchone()
        )


def test_a_reader_in_a_transaction_keeps_the_old_build_and_a_new_connection_gets_the_new(
    postgres_url, tmp_path
):
    url = _new_database(postgres_url, "serving_swap")
    old = _serving_copy(tmp_path, "old", [1, 2, 3])
    new = _serving_copy(tmp_path, "new", [10, 20, 30, 40])
    publish_to_postgres(old, url, log=lambda _: None)
    assert _hand_made(url) == (3, 3, Decimal("6.000000000000"))

    reader = psycopg.connect(url)
    reader.execute("set transaction isolation level repeatable read")
    both = "select (select count(*) from marts.fct_costs), items, cost_usd from marts.mart_total"
    assert reader.execute(both).fetchone() == (3, 3, Decimal("6.000000000000"))
    assert reader.execute("select count(*) from audit.file_loads").fetchone() == (1,)

    outcome: dict = {}

    def publish() -> None:
        try:
            outcome["published"] = publish_to_postgres(new, url, log=lambda _: None)
        except BaseException as error:  # reported by the assertion below
            outcome["error"] = error

    publisher = threading.Thread(target=publish)
    publisher.start()
    try:
        # The publish has loaded the new build and waits for the reader's locks to swap it in.
        _wait_until(lambda: _publisher_waits_for_a_lock(url), "the publish to wait for the reader")
        assert reader.execute(both).fetchone() == (3, 3, Decimal("6.000000000000"))
        assert reader.execute("select count(*) from audit.file_loads").fetchone() == (1,)
        assert _hand_made(url) == (3, 3, Decimal("6.000000000000"))  # not committed yet
        reader.commit()  # the reader lets go: the swap completes
        publisher.join(timeout=120)
        assert not publisher.is_alive() and "error" not in outcome, outcome
    finally:
        reader.close()
        publisher.join(timeout=120)
    assert _hand_made(url) == (4, 4, Decimal("100.000000000000"))
    assert outcome["published"].rows == {
        "audit.file_loads": 1,
        "marts.fct_costs": 4,
        "marts.mart_total": 1,
    }


def test_a_snapshot_taken_before_the_swap_reads_the_whole_new_build_not_empty_tables(
    postgres_url, tmp_path
):
    """A repeatable-read transaction that began before a publish but reads the marts only after
    it: the new tables were created after its snapshot, yet their rows (COPY FREEZE) are
    visible to it, so it sees the new build whole, never empty tables."""
    url = _new_database(postgres_url, "serving_snapshot")
    publish_to_postgres(_serving_copy(tmp_path, "old", [1, 2, 3]), url, log=lambda _: None)
    reader = psycopg.connect(url)
    try:
        reader.execute("set transaction isolation level repeatable read")
        reader.execute("select 1")  # the snapshot is taken; no served table touched yet
        publish_to_postgres(_serving_copy(tmp_path, "new", [5, 5]), url, log=lambda _: None)
        assert reader.execute(
            "select (select count(*) from marts.fct_costs), items, cost_usd from marts.mart_total"
        ).fetchone() == (2, 2, Decimal("10.000000000000"))
    finally:
        reader.close()


# --- failures leave the previous build --------------------------------------------------------


def test_a_publish_that_fails_half_way_leaves_the_previous_build_readable(postgres_url, tmp_path):
    url = _new_database(postgres_url, "serving_failed")
    publish_to_postgres(_serving_copy(tmp_path, "old", [1, 2, 3]), url, log=lambda _: None)
    before = _pg_state(url)

    # A new build with a table whose data PostgreSQL refuses (a NUL character in a text), copied
    # after the other tables of marts: the publish fails half-way through loading.
    warehouse = tmp_path / "bad.duckdb"
    make_warehouse(warehouse, [7, 8])
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table marts.zz_unloadable as select 'a' || chr(0) || 'b' as note")
    bad = publish_serving_copy(warehouse, tmp_path / "bad").path
    logged: list[str] = []
    with pytest.raises(PostgresPublishError, match=r"marts\.zz_unloadable: .*0x00"):
        publish_to_postgres(bad, url, log=logged.append)
    assert any("marts.fct_costs: 2 rows" in line for line in logged)  # it was half-way

    assert _pg_state(url) == before
    assert _hand_made(url) == (3, 3, Decimal("6.000000000000"))
    assert not list((tmp_path / "bad").glob(".postgres-publish-*"))  # the work files are gone


def test_a_reader_that_never_lets_go_fails_the_publish_and_keeps_the_previous_build(
    postgres_url, tmp_path
):
    url = _new_database(postgres_url, "serving_blocked")
    publish_to_postgres(_serving_copy(tmp_path, "old", [1, 2, 3]), url, log=lambda _: None)
    reader = psycopg.connect(url, application_name="a dashboard left open")
    try:
        reader.execute("select count(*) from marts.fct_costs")  # and idle in transaction
        with pytest.raises(PostgresPublishError, match="a dashboard left open") as failed:
            publish_to_postgres(
                _serving_copy(tmp_path, "new", [4]), url, log=lambda _: None, swap_wait_s=1
            )
        assert "nothing was changed" in str(failed.value)
        assert reader.execute("select count(*) from marts.fct_costs").fetchone() == (3,)
    finally:
        reader.close()
    assert _hand_made(url) == (3, 3, Decimal("6.000000000000"))
    assert _pg_state(url)["schemas"] == ["audit", "marts"]


def test_a_schema_llm_margin_did_not_publish_is_never_replaced(postgres_url, tmp_path):
    url = _new_database(postgres_url, "serving_foreign")
    with psycopg.connect(url) as conn:
        conn.execute("create schema marts")
        conn.execute("create table marts.someone_elses as select 1 as x")
    with pytest.raises(PostgresPublishError, match="was not published by llm-margin"):
        publish_to_postgres(_serving_copy(tmp_path, "new", [1]), url, log=lambda _: None)
    with psycopg.connect(url) as conn:
        assert conn.execute("select x from marts.someone_elses").fetchone() == (1,)


def test_a_view_built_on_the_published_tables_stops_the_swap_instead_of_being_dropped(
    postgres_url, tmp_path
):
    url = _new_database(postgres_url, "serving_dependent")
    publish_to_postgres(_serving_copy(tmp_path, "old", [1, 2, 3]), url, log=lambda _: None)
    with psycopg.connect(url) as conn:
        conn.execute("create schema analysis")
        conn.execute("create view analysis.big_costs as select * from marts.fct_costs")
    with pytest.raises(PostgresPublishError, match="analysis.big_costs"):
        publish_to_postgres(_serving_copy(tmp_path, "new", [4]), url, log=lambda _: None)
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from analysis.big_costs").fetchone() == (3,)


# --- types ------------------------------------------------------------------------------------

TYPED = """
create table marts.typed as select * from (values
    (1::tinyint, 170141183460469231731687303715884105727::hugeint, 18446744073709551615::ubigint,
     1.5::float, 'inf'::double, 0.1::double, 123456789012.123456789012::decimal(24,12),
     '' , 'with "quotes", a comma
and a newline', '\\.', 'back\\slash',
     date '2025-03-01', timestamp '2025-03-01 10:00:00.123456',
     timestamptz '2025-03-01 10:00:00+02', interval '1 day 2 hours', true,
     '\\x00\\xFF'::blob, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid,
     ['a', null, 'b"c', ''], [1, 2, 3]::integer[], [1.25, null]::decimal(10,2)[],
     {'k': 1, 'v': 'x'}, [[1], [2, 3]]),
    (null, null, null, null, '-inf'::double, null, null, null, null, null, null, null, null,
     null, null, null, null, null, []::varchar[], null, null, null, null)
) as t(tiny, huge, ubig, real_value, infinite, tenth, money, empty_text, tricky_text,
       end_marker, backslash, day, stamp, stamp_tz, span, flag, bytes, id, texts, ints, decimals,
       struct_value, nested)
"""


def test_every_type_arrives_with_the_value_duckdb_holds(postgres_url, tmp_path):
    source = tmp_path / "serving" / "llm_margin.duckdb"
    source.parent.mkdir()
    with duckdb.connect(str(source)) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute("create schema marts")
        con.execute("create schema audit")
        con.execute(TYPED)
        expected = con.execute("select * from marts.typed order by tiny nulls last").fetchall()
    url = _new_database(postgres_url, "serving_types")
    published = publish_to_postgres(source, url, log=lambda _: None)
    assert published.columns["marts.typed"] == {
        "tiny": "smallint",
        "huge": "numeric(39,0)",
        "ubig": "numeric(20,0)",
        "real_value": "real",
        "infinite": "double precision",
        "tenth": "double precision",
        "money": "numeric(24,12)",
        "empty_text": "text",
        "tricky_text": "text",
        "end_marker": "text",
        "backslash": "text",
        "day": "date",
        "stamp": "timestamp",
        "stamp_tz": "timestamptz",
        "span": "interval",
        "flag": "boolean",
        "bytes": "bytea",
        "id": "uuid",
        "texts": "text[]",
        "ints": "integer[]",
        "decimals": "numeric(10,2)[]",
        "struct_value": "jsonb",
        "nested": "jsonb",
    }
    with psycopg.connect(url) as conn:
        conn.execute("set timezone = 'UTC'")
        got = conn.execute("select * from marts.typed order by tiny nulls last").fetchall()
    assert len(got) == len(expected) == 2
    for got_row, expected_row in zip(got, expected, strict=True):
        for name, value, want in zip(
            published.columns["marts.typed"], got_row, expected_row, strict=True
        ):
            if isinstance(want, float) and math.isnan(want):
                assert math.isnan(value), name
            else:
                assert value == want, name
