"""A throwaway PostgreSQL server for tests: the real server (Debian's PostgreSQL 15), started once
per test session in a fresh temporary directory, stopped and deleted at the end.

Use the ``postgres_url`` fixture (registered in tests/conftest.py) for a database URL that
psycopg takes, ``postgresql://llm_margin:...@127.0.0.1:<port>/llm_margin_test``; each test that
writes should use its own table or schema, as the server is shared by the session.
``postgres_server`` gives the whole ``PostgresServer`` (its data directory and log file too).

The server listens only on 127.0.0.1, on a free port, with its unix socket in the temporary
directory, and asks for the test role's password (scram-sha-256). ``initdb`` refuses to run as
root: as root, initdb and pg_ctl run as the ``postgres`` OS user, in a directory that user owns.
Finding the binaries, initdb, starting and stopping are the package's
(orchestration/serving/postgres_cluster.py, which ``llm-margin serving-postgres`` uses too).
Missing binaries fail the tests that use it (never skip them): a test suite that needs the
server says so.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.serving import postgres_cluster as cluster
from orchestration.serving.postgres_cluster import (
    HOST,
    PostgresServerError,
    find_bin_dir,
)

__all__ = [
    "PostgresServer",
    "PostgresServerError",
    "find_bin_dir",
    "start_postgres",
    "stop_postgres",
]

ROLE = "llm_margin"
PASSWORD = "llm_margin_test_password"
DATABASE = "llm_margin_test"
PORT_ATTEMPTS = 3


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    password: str
    dbname: str
    base_dir: Path  # the temporary directory: data/, server.log, the unix socket
    bin_dir: Path
    os_user: str | None  # the OS user the server runs as, when not the current one

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.dbname}"

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "server.log"

    def log_tail(self, lines: int = cluster.LOG_TAIL_LINES) -> str:
        return cluster.tail(self.log_file, lines)


def start_postgres(*, bin_dir: Path | None = None) -> PostgresServer:
    """initdb a fresh cluster in a new temporary directory and start it; the caller stops it
    with ``stop_postgres``. Raises PostgresServerError, with the server log, on failure."""
    bin_dir = bin_dir or find_bin_dir()
    os_user = cluster.os_user_for_server()
    base = Path(tempfile.mkdtemp(prefix="llm-margin-pg-"))
    try:
        cluster.give_to(base, os_user)
        cluster.check_writable_by(
            base, os_user, "set TMPDIR to a directory every user can enter, such as /tmp"
        )
        # A throwaway server: no durability, nothing it need not do. The port is set at start.
        settings = {
            "listen_addresses": f"'{HOST}'",
            "unix_socket_directories": f"'{base}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "50",
            "timezone": "'UTC'",
            "logging_collector": "off",
        }
        cluster.initdb(
            bin_dir, base, base / "data", os_user,
            superuser=ROLE, password=PASSWORD, settings=settings, sync=False,
        )  # fmt: skip
        server = _start_on_free_port(bin_dir, base, os_user)
        _create_database(server)
        return server
    except BaseException:
        cluster.stop(bin_dir, base / "data", os_user, base, "immediate")
        shutil.rmtree(base, ignore_errors=True)
        raise


def stop_postgres(server: PostgresServer) -> None:
    """Stop the server at once (pg_ctl stop -m immediate) and delete its directory."""
    try:
        cluster.stop(server.bin_dir, server.data_dir, server.os_user, server.base_dir, "immediate")
    finally:
        shutil.rmtree(server.base_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the whole session; fails (never skips) when it cannot start."""
    try:
        server = start_postgres()
    except PostgresServerError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield server
    finally:
        stop_postgres(server)


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """``postgresql://user:password@127.0.0.1:PORT/dbname`` of the session's server."""
    return postgres_server.url


# --- internals -------------------------------------------------------------------------------


def _start_on_free_port(bin_dir: Path, base: Path, os_user: str | None) -> PostgresServer:
    """Start on a free port; another process may take the port between the probe and the
    server's bind, so a few attempts, each with a new port."""
    last_error: PostgresServerError | None = None
    for _ in range(PORT_ATTEMPTS):
        port = cluster.free_port()
        server = PostgresServer(HOST, port, ROLE, PASSWORD, DATABASE, base, bin_dir, os_user)
        try:
            cluster.start(bin_dir, server.data_dir, server.log_file, os_user, base, port)
            cluster.wait_ready(bin_dir, HOST, port, server.log_file)
            return server
        except PostgresServerError as error:
            last_error = error
            cluster.stop(bin_dir, server.data_dir, os_user, base, "immediate")
            if not re.search(r"could not bind|address already in use", server.log_tail(), re.I):
                raise
    assert last_error is not None
    raise last_error


def _create_database(server: PostgresServer) -> None:
    import psycopg

    admin_url = f"postgresql://{server.user}:{server.password}@{server.host}:{server.port}/postgres"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{server.dbname}"')
    except psycopg.Error as error:
        raise PostgresServerError(
            f"could not create the test database on {server.host}:{server.port}: {error}"
            + cluster.log_section(server.log_file)
        ) from error
