"""The serving copy copies only what changed: a publish starts from the previous serving file and
copies again only the tables (or, for the big facts, the partitions) whose content differs from
the warehouse; everything else is kept. What must hold whatever it copies: the published file
equals the warehouse, table for table and row for row, and readers still get whole files.

These tests build a tiny warehouse by hand (no dbt). Which tables a test changes is decided by the
test itself; the expected copied/kept lists are written from that, not read from the code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from conftest import HeldReader

from orchestration.serving import publish_serving_copy
from orchestration.serving.fingerprints import fingerprint
from orchestration.serving.publish import serving_file

SERVED = ["audit.file_loads", "marts.dim_things", "marts.fct_llm_calls", "marts.mart_total"]


def make_warehouse(path: Path) -> None:
    """A warehouse with the shapes the serving copy meets: a partitioned fact table (the name
    the serving copy fingerprints per event_date), a small table, a view over the fact and an
    audit view, and a schema that is not served."""
    with duckdb.connect(str(path)) as con:
        for schema in ("staging", "marts", "audit"):
            con.execute(f"create schema {schema}")
        con.execute("create table staging.events as select range as id from range(5)")
        con.execute(
            "create table marts.fct_llm_calls as select range as call_id, "
            "date '2025-03-01' + (range % 4)::int as event_date, "
            "(range * 0.25)::decimal(24, 12) as cost_usd, 'route-' || (range % 3) as route "
            "from range(400)"
        )
        con.execute(
            "create table marts.dim_things as "
            "select range::bigint as id, 'thing ' || range as name from range(10)"
        )
        con.execute(
            "create view marts.mart_total as "
            "select count(*) as calls, sum(cost_usd) as cost_usd from marts.fct_llm_calls"
        )
        con.execute("create view audit.file_loads as select 'a.jsonl' as source_file, 3 as rows")


def change(warehouse: Path, *statements: str) -> None:
    with duckdb.connect(str(warehouse)) as con:
        for statement in statements:
            con.execute(statement)


def edit_served(served: Path, *statements: str) -> None:
    """Run ``statements`` on a published (read-only) serving file, as a test's damage."""
    served.chmod(0o644)
    change(served, *statements)


def differences(warehouse: Path, served: Path) -> list[str]:
    """Every served relation of the warehouse against the serving file: the same tables, the
    same column names and types, and the same rows (as multisets, EXCEPT ALL both ways)."""
    problems = []
    with duckdb.connect() as con:
        con.execute(f"attach '{warehouse}' as warehouse (read_only)")
        con.execute(f"attach '{served}' as served (read_only)")

        def relations(catalog):
            return {
                f"{s}.{t}"
                for s, t in con.execute(
                    "select table_schema, table_name from information_schema.tables "
                    "where table_catalog = ? and table_schema in ('marts', 'audit')",
                    [catalog],
                ).fetchall()
            }

        def columns(catalog, name):
            schema, table = name.split(".")
            return con.execute(
                "select column_name, data_type from information_schema.columns where "
                "table_catalog = ? and table_schema = ? and table_name = ? "
                "order by ordinal_position",
                [catalog, schema, table],
            ).fetchall()

        if relations("warehouse") != relations("served"):
            return [f"tables: {sorted(relations('warehouse'))} != {sorted(relations('served'))}"]
        for name in sorted(relations("warehouse")):
            if columns("warehouse", name) != columns("served", name):
                problems.append(f"{name}: columns differ")
                continue
            for left, right in (("warehouse", "served"), ("served", "warehouse")):
                extra = con.execute(
                    f"select count(*) from (select * from {left}.{name} "
                    f"except all select * from {right}.{name})"
                ).fetchone()[0]
                if extra:
                    problems.append(f"{name}: {extra} rows in {left} not in {right}")
    return problems


def storage(path: Path, name: str) -> list[tuple]:
    """Where a table's data lies in the file: its blocks and offsets, segment by segment."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(
            "select row_group_id, column_id, segment_id, block_id, block_offset "
            f"from pragma_storage_info('{name}') order by all"
        ).fetchall()


def rows_of(warehouse: Path, names: list[str]) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {name: con.execute(f"select count(*) from {name}").fetchone()[0] for name in names}


@pytest.fixture
def warehouse(data_dir) -> Path:
    make_warehouse(data_dir.warehouse)
    return data_dir.warehouse


def _materialize_serving_asset(data_dir) -> dict:
    """Run the serving asset as a build does; its materialization's metadata, as plain values."""
    from dagster import materialize

    from orchestration.serving.assets import serving_copy
    from orchestration.settings import Settings

    result = materialize([serving_copy], resources={"settings": Settings()})
    assert result.success
    (event,) = result.get_asset_materialization_events()
    metadata = event.step_materialization_data.materialization.metadata
    return {key: getattr(value, "value", value) for key, value in metadata.items()}


def test_a_run_that_changes_one_mart_copies_it_and_keeps_the_rest(data_dir, warehouse):
    first = _materialize_serving_asset(data_dir)
    assert first["full_copy"] is True
    assert first["full_copy_reason"] == "there is no previous serving file"
    assert first["copied"] == rows_of(warehouse, SERVED)
    assert first["kept"] == {}
    served = serving_file(data_dir.serving)
    before = {name: storage(served, name) for name in ("marts.fct_llm_calls",)}

    change(warehouse, "update marts.dim_things set name = 'renamed' where id = 3")
    second = _materialize_serving_asset(data_dir)

    assert second["full_copy"] is False
    assert second["copied"] == {"marts.dim_things": 10}
    unchanged = ["audit.file_loads", "marts.fct_llm_calls", "marts.mart_total"]
    assert second["kept"] == rows_of(warehouse, unchanged)
    assert second["partly_replaced"] == {}
    assert second["rows"] == rows_of(warehouse, SERVED)
    assert differences(warehouse, served) == []
    # The kept fact table was not written again: its data lies in the same blocks as before.
    assert storage(served, "marts.fct_llm_calls") == before["marts.fct_llm_calls"]
    with duckdb.connect(str(served), read_only=True) as con:
        assert con.execute("select name from marts.dim_things where id = 3").fetchone() == (
            "renamed",
        )
        # What the file records for the next publish agrees with what this one did.
        recorded = json.loads(con.execute("select copied from _serving.publish").fetchone()[0])
    assert recorded["copied"] == ["marts.dim_things"] and recorded["kept"] == unchanged

    # A run that changes nothing copies nothing.
    third = _materialize_serving_asset(data_dir)
    assert third["copied"] == {} and sorted(third["kept"]) == SERVED
    assert differences(warehouse, served) == []


def test_a_new_day_replaces_only_the_fact_tables_changed_days(tmp_path, warehouse):
    serving = tmp_path / "serving"
    publish_serving_copy(warehouse, serving)
    change(
        warehouse,
        # 2025-03-02 restated, 2025-03-03 gone, a new day, and calls without a date.
        "update marts.fct_llm_calls set cost_usd = cost_usd + 1 where event_date = '2025-03-02'",
        "delete from marts.fct_llm_calls where event_date = '2025-03-03'",
        "insert into marts.fct_llm_calls select 1000 + range, date '2025-03-05', 2, 'route-9' "
        "from range(7)",
        "insert into marts.fct_llm_calls values (2000, null, 3, 'route-0')",
    )
    copy = publish_serving_copy(warehouse, serving)

    assert copy.full_copy_reason is None
    assert copy.replaced == {
        "marts.fct_llm_calls": ["2025-03-02", "2025-03-03", "2025-03-05", None]
    }
    assert copy.copied == ["marts.mart_total"]  # a one-row view over the fact: copied whole
    assert copy.kept == ["audit.file_loads", "marts.dim_things"]
    assert copy.rows["marts.fct_llm_calls"] == 400 - 100 + 7 + 1
    assert differences(warehouse, copy.path) == []

    # The next publish finds the file's fingerprints right: nothing to copy.
    again = publish_serving_copy(warehouse, serving)
    assert (again.copied, again.replaced) == ([], {})


def stamp(warehouse: Path) -> None:
    """Give the fact table dbt's rebuilt_at stamp, one build time for every row (as a full build
    writes it)."""
    change(
        warehouse,
        "alter table marts.fct_llm_calls add column rebuilt_at timestamp",
        "update marts.fct_llm_calls set rebuilt_at = timestamp '2025-03-05 01:00:00'",
    )


def test_a_stamped_fact_is_replaced_in_the_days_a_build_rewrote_and_kept_elsewhere(
    tmp_path, warehouse
):
    stamp(warehouse)
    serving = tmp_path / "serving"
    first = publish_serving_copy(warehouse, serving)
    assert first.full_copy_reason is not None

    # A new build rewrites 2025-03-02 (restated) and adds 2025-03-05, stamping what it wrote.
    change(
        warehouse,
        "update marts.fct_llm_calls set cost_usd = cost_usd + 1, "
        "rebuilt_at = timestamp '2025-03-06 01:00:00' where event_date = '2025-03-02'",
        "insert into marts.fct_llm_calls select 1000 + range, date '2025-03-05', 2, 'route-9', "
        "timestamp '2025-03-06 01:00:00' from range(7)",
    )
    copy = publish_serving_copy(warehouse, serving)

    assert copy.full_copy_reason is None
    assert copy.replaced == {"marts.fct_llm_calls": ["2025-03-02", "2025-03-05"]}
    assert differences(warehouse, copy.path) == []

    # Nothing rewritten: nothing copied.
    again = publish_serving_copy(warehouse, serving)
    assert (again.copied, again.replaced) == ([], {})


def test_a_stamped_day_rewritten_by_a_build_with_the_same_rows_is_replaced(tmp_path, warehouse):
    """A build that rewrites a day to the same values still stamps it: the day is replaced (the
    copy then carries the warehouse's stamps, which downstream readers may use)."""
    stamp(warehouse)
    serving = tmp_path / "serving"
    publish_serving_copy(warehouse, serving)
    change(
        warehouse,
        "update marts.fct_llm_calls set rebuilt_at = timestamp '2025-03-06 01:00:00' "
        "where event_date = '2025-03-04'",
    )
    copy = publish_serving_copy(warehouse, serving)
    assert copy.replaced == {"marts.fct_llm_calls": ["2025-03-04"]}
    assert differences(warehouse, copy.path) == []


def test_a_stamped_day_that_lost_rows_is_replaced_though_its_stamp_did_not_move(
    tmp_path, warehouse
):
    stamp(warehouse)
    serving = tmp_path / "serving"
    publish_serving_copy(warehouse, serving)
    change(
        warehouse,
        "delete from marts.fct_llm_calls where event_date = '2025-03-03' and call_id < 50",
    )
    copy = publish_serving_copy(warehouse, serving)
    assert copy.replaced == {"marts.fct_llm_calls": ["2025-03-03"]}
    assert differences(warehouse, copy.path) == []


def test_a_stamped_table_is_fingerprinted_by_its_stamps_and_an_unstamped_day_by_its_rows(warehouse):
    """What a stamped fingerprint reads: row count and latest stamp per day, not the values; a
    day whose rows carry no stamp is still compared by a hash of its rows."""
    stamp(warehouse)
    change(
        warehouse,
        "update marts.fct_llm_calls set rebuilt_at = null where event_date = '2025-03-04'",
    )

    def prints() -> dict:
        with duckdb.connect() as con:
            con.execute(f"attach '{warehouse}' as w (read_only)")
            return fingerprint(con, "w", "marts.fct_llm_calls").parts

    before = prints()
    # Values changed in a stamped day (same count, same stamp) and in the unstamped day.
    change(
        warehouse,
        "update marts.fct_llm_calls set route = 'x' where event_date in ('2025-03-01', '2025-03-04')",
    )
    after = prints()
    assert after["2025-03-01"] == before["2025-03-01"]
    assert after["2025-03-04"] != before["2025-03-04"]
    assert after["2025-03-04"][0] == before["2025-03-04"][0] == 100

    # A new stamp alone changes the day's fingerprint.
    change(
        warehouse,
        "update marts.fct_llm_calls set rebuilt_at = timestamp '2025-03-06 01:00:00' "
        "where event_date = '2025-03-02'",
    )
    assert prints()["2025-03-02"] != after["2025-03-02"]


def test_an_unstamped_day_changed_outside_dbt_is_replaced(tmp_path, warehouse):
    stamp(warehouse)
    change(
        warehouse,
        "update marts.fct_llm_calls set rebuilt_at = null where event_date = '2025-03-04'",
    )
    serving = tmp_path / "serving"
    publish_serving_copy(warehouse, serving)
    change(warehouse, "update marts.fct_llm_calls set route = 'x' where event_date = '2025-03-04'")
    copy = publish_serving_copy(warehouse, serving)
    assert copy.replaced == {"marts.fct_llm_calls": ["2025-03-04"]}
    assert differences(warehouse, copy.path) == []


def test_a_stamped_day_rewritten_outside_dbt_is_served_until_the_next_full_copy(
    tmp_path, warehouse
):
    """The trust a stamp buys, pinned: the same rows and stamp, other values, written by
    something that is not the build, are not seen by a publish; the daily full copy repairs it."""
    stamp(warehouse)
    serving = tmp_path / "serving"
    previous = publish_serving_copy(warehouse, serving).path
    change(warehouse, "update marts.fct_llm_calls set route = 'x' where event_date = '2025-03-01'")
    blind = publish_serving_copy(warehouse, serving)
    assert "marts.fct_llm_calls" in blind.kept
    assert differences(warehouse, blind.path) != []

    edit_served(previous, "update _serving.publish set full_copy_at = now() - interval 25 hours")
    repaired = publish_serving_copy(warehouse, serving)
    assert repaired.full_copy_reason is not None
    assert differences(warehouse, repaired.path) == []


def test_most_of_a_fact_table_changed_is_copied_whole(tmp_path, warehouse):
    serving = tmp_path / "serving"
    publish_serving_copy(warehouse, serving)
    change(warehouse, "update marts.fct_llm_calls set route = 'x' where event_date <> '2025-03-01'")
    copy = publish_serving_copy(warehouse, serving)
    assert "marts.fct_llm_calls" in copy.copied and copy.replaced == {}
    assert differences(warehouse, copy.path) == []


def test_a_changed_schema_of_an_unchanged_table_forces_its_copy(tmp_path, warehouse):
    serving = tmp_path / "serving"
    publish_serving_copy(warehouse, serving)
    # The same rows, one column now an integer: the values compare equal, the type does not.
    change(
        warehouse,
        "create or replace table marts.dim_things as "
        "select id::integer as id, name from marts.dim_things",
    )
    copy = publish_serving_copy(warehouse, serving)
    assert copy.copied == ["marts.dim_things"]
    assert copy.kept == ["audit.file_loads", "marts.fct_llm_calls", "marts.mart_total"]
    with duckdb.connect(str(copy.path), read_only=True) as con:
        assert con.execute(
            "select data_type from information_schema.columns "
            "where table_name = 'dim_things' and column_name = 'id'"
        ).fetchone() == ("INTEGER",)
    assert differences(warehouse, copy.path) == []


def test_a_renamed_column_forces_its_copy(tmp_path, warehouse):
    serving = tmp_path / "serving"
    publish_serving_copy(warehouse, serving)
    change(warehouse, "alter table marts.dim_things rename column name to label")
    copy = publish_serving_copy(warehouse, serving)
    assert copy.copied == ["marts.dim_things"]
    assert differences(warehouse, copy.path) == []


def test_a_new_or_dropped_table_makes_a_full_copy(tmp_path, warehouse):
    serving = tmp_path / "serving"
    publish_serving_copy(warehouse, serving)
    change(warehouse, "create table marts.mart_new as select 1 as x")
    copy = publish_serving_copy(warehouse, serving)
    assert copy.full_copy_reason is not None and "served tables changed" in copy.full_copy_reason
    assert sorted(copy.copied) == sorted([*SERVED, "marts.mart_new"])
    assert differences(warehouse, copy.path) == []

    change(warehouse, "drop table marts.mart_new")
    copy = publish_serving_copy(warehouse, serving)
    assert copy.full_copy_reason is not None and sorted(copy.copied) == SERVED
    assert differences(warehouse, copy.path) == []


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "no fingerprints"],
)
def test_an_unreadable_previous_file_makes_a_full_copy(tmp_path, warehouse, damage):
    serving = tmp_path / "serving"
    previous = publish_serving_copy(warehouse, serving).path
    previous.chmod(0o644)
    if damage == "garbage":
        previous.write_bytes(b"not a database" * 1000)
    elif damage == "truncated":
        with previous.open("r+b") as handle:
            handle.truncate(previous.stat().st_size // 3)
    else:  # a serving file written before fingerprints existed
        with duckdb.connect(str(previous)) as con:
            con.execute("drop schema _serving cascade")
    change(warehouse, "update marts.dim_things set name = 'renamed' where id = 3")

    copy = publish_serving_copy(warehouse, serving)

    assert copy.full_copy_reason is not None
    assert "cannot be read" in copy.full_copy_reason
    assert sorted(copy.copied) == SERVED and copy.kept == []
    assert differences(warehouse, copy.path) == []
    assert sorted(p.name for p in serving.iterdir()) == ["llm_margin.duckdb"]


def test_fingerprints_that_do_not_describe_the_file_make_a_full_copy(tmp_path, warehouse):
    """A kept table is checked against its recorded row count; a wrong record is not trusted."""
    serving = tmp_path / "serving"
    previous = publish_serving_copy(warehouse, serving).path
    # the file loses rows its fingerprint still counts
    edit_served(previous, "delete from marts.dim_things where id = 0")
    copy = publish_serving_copy(warehouse, serving)
    assert copy.full_copy_reason is not None and "marts.dim_things" in copy.full_copy_reason
    assert differences(warehouse, copy.path) == []


def test_a_file_fingerprinted_by_its_rows_before_stamps_counted_makes_a_full_copy(
    tmp_path, warehouse
):
    """A file from before stamped facts were fingerprinted by their stamps records no
    fingerprint version: its facts' fingerprints cannot be compared, so it is not updated but
    replaced by a full copy (copying them whole into it would leave their old blocks behind)."""
    stamp(warehouse)
    serving = tmp_path / "serving"
    previous = publish_serving_copy(warehouse, serving).path
    edit_served(previous, "alter table _serving.publish drop column fingerprint_version")
    copy = publish_serving_copy(warehouse, serving)
    assert copy.full_copy_reason == (
        "the previous file's fingerprints are of version 1, this publish computes version 2"
    )
    assert differences(warehouse, copy.path) == []
    again = publish_serving_copy(warehouse, serving)
    assert again.full_copy_reason is None and sorted(again.kept) == SERVED


def test_a_day_after_the_last_full_copy_everything_is_copied_again(tmp_path, warehouse):
    serving = tmp_path / "serving"
    previous = publish_serving_copy(warehouse, serving).path
    edit_served(previous, "update _serving.publish set full_copy_at = now() - interval 25 hours")
    copy = publish_serving_copy(warehouse, serving)
    assert copy.full_copy_reason is not None and "last full copy" in copy.full_copy_reason
    assert sorted(copy.copied) == SERVED
    # That full copy starts the day again: the next publish keeps what did not change.
    assert publish_serving_copy(warehouse, serving).kept == SERVED


def test_comments_of_kept_tables_are_the_warehouses(tmp_path, warehouse):
    serving = tmp_path / "serving"
    change(warehouse, "comment on table marts.dim_things is 'old words'")
    publish_serving_copy(warehouse, serving)
    change(
        warehouse,
        "comment on table marts.dim_things is 'new words'",
        "comment on column marts.dim_things.name is 'what it is called'",
    )
    copy = publish_serving_copy(warehouse, serving)
    assert "marts.dim_things" in copy.kept  # the rows did not change
    with duckdb.connect(str(copy.path), read_only=True) as con:
        table = con.execute(
            "select comment from duckdb_tables() where table_name = 'dim_things'"
        ).fetchone()
        column = con.execute(
            "select comment from duckdb_columns() where table_name = 'dim_things' "
            "and column_name = 'name'"
        ).fetchone()
    assert (table, column) == (("new words",), ("what it is called",))


def test_a_reader_holding_the_old_file_keeps_it_while_a_partial_publish_swaps(tmp_path, warehouse):
    serving = tmp_path / "serving"
    old = publish_serving_copy(warehouse, serving).path
    reader = HeldReader(old)
    try:
        question = "select (select count(*) from marts.fct_llm_calls), (select calls from marts.mart_total)"
        assert reader.ask(question) == "[(400, 400)]"
        change(warehouse, "delete from marts.fct_llm_calls where event_date = '2025-03-04'")
        copy = publish_serving_copy(warehouse, serving)
        assert copy.replaced == {"marts.fct_llm_calls": ["2025-03-04"]}
        assert reader.ask(question) == "[(400, 400)]"  # its file, whole, as it was
        with duckdb.connect(str(old), read_only=True) as con:  # a new connection: the new file
            assert con.execute(question).fetchone() == (300, 300)
    finally:
        reader.close()


def test_a_partly_replaced_file_still_opens_in_the_oldest_duckdb_it_is_written_for(
    tmp_path, warehouse
):
    """The previous file's storage format (v1.0.0) is kept when tables are replaced in it."""
    serving = tmp_path / "serving"
    publish_serving_copy(warehouse, serving)
    change(warehouse, "delete from marts.fct_llm_calls where event_date = '2025-03-04'")
    copy = publish_serving_copy(warehouse, serving)
    assert copy.replaced and copy.full_copy_reason is None

    uv = Path(sys.executable).parent / "uv"
    venv = tmp_path / "duckdb-0.10.3"
    subprocess.run([str(uv), "venv", "-q", "-p", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(uv), "pip", "install", "-q", "--python", str(python), "duckdb==0.10.3"], check=True
    )
    read = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(con.execute('select count(*), sum(cost_usd)::varchar from marts.fct_llm_calls')"
        ".fetchone())"
    )
    out = subprocess.run(
        [str(python), "-c", read, str(copy.path)], check=True, capture_output=True, text=True
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        expected = con.execute(
            "select count(*), sum(cost_usd)::varchar from marts.fct_llm_calls"
        ).fetchone()
    assert out.stdout.strip() == str(expected)
