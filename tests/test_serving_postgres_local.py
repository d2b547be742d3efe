"""``llm-margin serving-postgres`` (``make serve-postgres``): a local PostgreSQL in the data
directory, created once, started again idempotently, published into, read by the BI user it
prints, stopped. A real server on a free port."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
from test_serving import make_warehouse

from orchestration import cli
from orchestration.paths import DATA_DIR_ENV, DataPaths
from orchestration.serving import postgres_local, publish_serving_copy
from orchestration.serving.postgres_cluster import free_port


@pytest.fixture
def reachable_data_dir(monkeypatch):
    """A data directory every user can enter: as root the server runs as the postgres user."""
    top = Path(tempfile.mkdtemp(prefix="llm-margin-serve-"))
    top.chmod(0o711)
    root = top / "data"
    monkeypatch.delenv("LLM_MARGIN_BIND_HOST", raising=False)  # the default: 127.0.0.1
    monkeypatch.setenv(DATA_DIR_ENV, str(root))
    paths = DataPaths(root).ensure()
    try:
        yield paths
    finally:
        postgres_local.stop(paths)
        shutil.rmtree(top, ignore_errors=True)


def _run(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(["serving-postgres", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_serve_postgres_creates_publishes_prints_how_to_connect_and_is_idempotent(
    reachable_data_dir, capsys
):
    paths = reachable_data_dir
    warehouse = paths.root / "warehouse.duckdb"
    make_warehouse(warehouse, [1, 2, 3])
    publish_serving_copy(warehouse, paths.serving)  # what a build leaves
    port = free_port()

    code, out = _run(capsys, "start", "--port", str(port))
    assert code == 0, out
    assert f"local PostgreSQL created on 127.0.0.1:{port}" in out
    (export,) = re.findall(r"^export LLM_MARGIN_SERVING_POSTGRES_URL='(.+)'$", out, re.M)
    (bi_url,) = re.findall(r"psql '(.+)'", out)
    assert f"@127.0.0.1:{port}/llm_margin" in export
    with psycopg.connect(export) as conn:  # this machine only, LLM_MARGIN_BIND_HOST unset
        assert conn.execute("show listen_addresses").fetchone() == ("127.0.0.1",)

    # The serving copy the build left is there at once, for the BI user, read-only.
    with psycopg.connect(bi_url) as conn:
        assert conn.execute("select count(*), sum(cost_usd) from marts.fct_costs").fetchone() == (
            3,
            6,
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("delete from marts.fct_costs")

    code, out = _run(capsys, "start")
    assert code == 0 and f"local PostgreSQL already running on 127.0.0.1:{port}" in out
    assert f"export LLM_MARGIN_SERVING_POSTGRES_URL='{export}'" in out  # the same server
    assert "publishing" not in out
    code, out = _run(capsys, "status")
    assert code == 0 and "running" in out

    code, out = _run(capsys, "stop")
    assert code == 0 and "stopped" in out
    code, out = _run(capsys, "status")
    assert code == 1 and "not running" in out
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(export, connect_timeout=5)

    # Started again: the same port, passwords and data.
    code, out = _run(capsys, "start", "--no-publish")
    assert code == 0 and f"local PostgreSQL started on 127.0.0.1:{port}" in out
    with psycopg.connect(bi_url) as conn:
        assert conn.execute("select count(*) from marts.fct_costs").fetchone() == (3,)
        assert conn.execute("show listen_addresses").fetchone() == ("127.0.0.1",)
    credentials = paths.root / "postgres" / "credentials.json"
    assert credentials.stat().st_mode & 0o077 == 0  # the passwords are the owner's only


def test_serve_postgres_refuses_a_port_that_is_taken(reachable_data_dir, capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out = _run(capsys, "start", "--port", str(port))
    assert code == 1
    assert f"port {port} on 127.0.0.1 is already in use" in out
    assert not (reachable_data_dir.root / "postgres" / "data").exists()
