"""A throwaway PostgreSQL server for tests: the real server (Debian's PostgreSQL 15), started once
per test session in a fresh temporary directory, stopped and deleted at the end.

Use the ``postgres_url`` fixture (registered in tests/conftest.py) for a database URL that
psycopg takes, ``postgresql://llm_margin:...@127.0.0.1:<port>/llm_margin_test``; each test that
writes should use its own table or schema, as the server is shared by the session.
``postgres_server`` gives the whole ``PostgresServer`` (its data directory and log file too).

The server listens only on 127.0.0.1, on a free port, with its unix socket in the temporary
directory, and asks for the test role's password (scram-sha-256). ``initdb`` refuses to run as
root: as root, initdb and pg_ctl run as the ``postgres`` OS user, in a directory that user owns.
Missing binaries fail the tests that use it (never skip them): a test suite that needs the
server says so.
"""

from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Where the binaries are: $LLM_MARGIN_PG_BIN, else Debian's PostgreSQL 15, else the newest
# Debian PostgreSQL, else PATH.
PG_BIN_ENV = "LLM_MARGIN_PG_BIN"
PREFERRED_BIN = Path("/usr/lib/postgresql/15/bin")
DEBIAN_ROOT = Path("/usr/lib/postgresql")
BINARIES = ("initdb", "pg_ctl", "pg_isready")
INSTALL_HINT = (
    "install PostgreSQL's server binaries: `apt-get install postgresql` (Debian/Ubuntu; "
    f"PostgreSQL 15 lands in {PREFERRED_BIN}), or point ${PG_BIN_ENV} at a directory holding "
    + ", ".join(BINARIES)
)

OS_USER_WHEN_ROOT = "postgres"
ROLE = "llm_margin"
PASSWORD = "llm_margin_test_password"
DATABASE = "llm_margin_test"
HOST = "127.0.0.1"

START_TIMEOUT_S = 60
COMMAND_TIMEOUT_S = 120
PORT_ATTEMPTS = 3
LOG_TAIL_LINES = 60


class PostgresServerError(RuntimeError):
    """The server could not be found, started or reached; the message says why."""


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

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return _tail(self.log_file, lines)


def find_bin_dir() -> Path:
    """The directory holding initdb, pg_ctl and pg_isready, or PostgresServerError naming what
    to install."""
    candidates: list[Path] = []
    if os.environ.get(PG_BIN_ENV):
        candidates.append(Path(os.environ[PG_BIN_ENV]))
    candidates.append(PREFERRED_BIN)
    if DEBIAN_ROOT.is_dir():
        versions = [p for p in DEBIAN_ROOT.iterdir() if p.name.isdigit()]
        candidates += [p / "bin" for p in sorted(versions, key=lambda p: -int(p.name))]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for directory in candidates:
        if all(os.access(directory / name, os.X_OK) for name in BINARIES):
            return directory
    looked = ", ".join(str(c) for c in dict.fromkeys(candidates))
    raise PostgresServerError(
        f"PostgreSQL server binaries ({', '.join(BINARIES)}) not found (looked in: {looked}); "
        + INSTALL_HINT
    )


def start_postgres(*, bin_dir: Path | None = None) -> PostgresServer:
    """initdb a fresh cluster in a new temporary directory and start it; the caller stops it
    with ``stop_postgres``. Raises PostgresServerError, with the server log, on failure."""
    bin_dir = bin_dir or find_bin_dir()
    os_user = _os_user_for_server()
    base = Path(tempfile.mkdtemp(prefix="llm-margin-pg-"))
    try:
        if os_user is not None:
            entry = pwd.getpwnam(os_user)
            os.chown(base, entry.pw_uid, entry.pw_gid)
            _check_reachable(base, os_user)
        _initdb(bin_dir, base, os_user)
        server = _start_on_free_port(bin_dir, base, os_user)
        _create_database(server)
        return server
    except BaseException:
        _stop(bin_dir, base, os_user)
        shutil.rmtree(base, ignore_errors=True)
        raise


def stop_postgres(server: PostgresServer) -> None:
    """Stop the server at once (pg_ctl stop -m immediate) and delete its directory."""
    try:
        _stop(server.bin_dir, server.base_dir, server.os_user)
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


def _os_user_for_server() -> str | None:
    """None to run the server as the current user; the OS user to switch to when root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(OS_USER_WHEN_ROOT)
    except KeyError:
        raise PostgresServerError(
            f"running as root, and initdb refuses root, but there is no {OS_USER_WHEN_ROOT!r} OS "
            f"user to run the server as; {INSTALL_HINT} (the package creates that user)"
        ) from None
    return OS_USER_WHEN_ROOT


def _check_reachable(base: Path, os_user: str) -> None:
    """The server's user must reach the temporary directory (every parent must let it in)."""
    result = subprocess.run(
        _as_user(["test", "-w", str(base)], os_user),
        cwd=base,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )
    if result.returncode != 0:
        raise PostgresServerError(
            f"the {os_user!r} OS user cannot write to the temporary directory {base} "
            f"({result.stderr.strip() or 'test -w failed'}); set TMPDIR to a directory every "
            f"user can enter, such as /tmp"
        )


def _as_user(argv: list[str], os_user: str | None) -> list[str]:
    if os_user is None:
        return argv
    if shutil.which("runuser"):
        return ["runuser", "-u", os_user, "--", *argv]
    return ["su", os_user, "-s", "/bin/sh", "-c", shlex.join(argv)]


def _run(argv: list[str], os_user: str | None, cwd: Path, what: str, log: Path | None = None):
    command = _as_user(argv, os_user)
    try:
        result = subprocess.run(
            command,
            cwd=cwd,  # a directory the server's user can enter (not the repository, as root)
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as error:
        raise PostgresServerError(
            f"{what} did not finish within {COMMAND_TIMEOUT_S} s: {shlex.join(command)}"
            + _log_section(log)
        ) from error
    if result.returncode != 0:
        raise PostgresServerError(
            f"{what} failed (exit {result.returncode}): {shlex.join(command)}\n"
            f"--- stdout ---\n{result.stdout.strip()}\n--- stderr ---\n{result.stderr.strip()}"
            + _log_section(log)
        )
    return result


def _initdb(bin_dir: Path, base: Path, os_user: str | None) -> None:
    pwfile = base / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    pwfile.chmod(0o600)
    if os_user is not None:
        entry = pwd.getpwnam(os_user)
        os.chown(pwfile, entry.pw_uid, entry.pw_gid)
    try:
        _run(
            [
                str(bin_dir / "initdb"),
                "--pgdata",
                str(base / "data"),
                "--username",
                ROLE,
                "--pwfile",
                str(pwfile),
                "--auth-local",
                "scram-sha-256",
                "--auth-host",
                "scram-sha-256",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ],
            os_user,
            base,
            "initdb",
        )
    finally:
        pwfile.unlink(missing_ok=True)
    # A throwaway server: no durability, nothing it need not do. The port is set at each start.
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
    with open(base / "data" / "postgresql.conf", "a") as conf:
        conf.write("\n# tests/postgres_server.py\n")
        conf.writelines(f"{key} = {value}\n" for key, value in settings.items())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _start_on_free_port(bin_dir: Path, base: Path, os_user: str | None) -> PostgresServer:
    """Start on a free port; another process may take the port between the probe and the
    server's bind, so a few attempts, each with a new port."""
    last_error: PostgresServerError | None = None
    for _ in range(PORT_ATTEMPTS):
        port = _free_port()
        server = PostgresServer(HOST, port, ROLE, PASSWORD, DATABASE, base, bin_dir, os_user)
        try:
            _run(
                [
                    str(bin_dir / "pg_ctl"),
                    "start",
                    "--pgdata",
                    str(server.data_dir),
                    "--log",
                    str(server.log_file),
                    "--wait",
                    "--timeout",
                    str(START_TIMEOUT_S),
                    "-o",
                    f"-p {port}",
                ],
                os_user,
                base,
                "pg_ctl start",
                log=server.log_file,
            )
            _wait_ready(server)
            return server
        except PostgresServerError as error:
            last_error = error
            _stop(bin_dir, base, os_user)
            if not re.search(r"could not bind|address already in use", server.log_tail(), re.I):
                raise
    assert last_error is not None
    raise last_error


def _wait_ready(server: PostgresServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    argv = [
        str(server.bin_dir / "pg_isready"),
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--dbname",
        "postgres",
        "--timeout",
        "2",
    ]
    output = ""
    while time.monotonic() < deadline:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if result.returncode == 0:
            return
        output = (result.stdout + result.stderr).strip()
        time.sleep(0.2)
    raise PostgresServerError(
        f"the server on {server.host}:{server.port} was not ready within {START_TIMEOUT_S} s "
        f"(pg_isready: {output})" + _log_section(server.log_file)
    )


def _create_database(server: PostgresServer) -> None:
    import psycopg

    admin_url = f"postgresql://{server.user}:{server.password}@{server.host}:{server.port}/postgres"
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{server.dbname}"')
    except psycopg.Error as error:
        raise PostgresServerError(
            f"could not create the test database on {server.host}:{server.port}: {error}"
            + _log_section(server.log_file)
        ) from error


def _stop(bin_dir: Path, base: Path, os_user: str | None) -> None:
    """Stop the server if one runs from ``base``: pg_ctl stop -m immediate, else SIGQUIT (the
    same immediate shutdown) to the postmaster that base/data/postmaster.pid names."""
    pid_file = base / "data" / "postmaster.pid"
    if not pid_file.exists():
        return
    argv = [str(bin_dir / "pg_ctl"), "stop", "--pgdata", str(base / "data"), "-m", "immediate"]
    try:
        subprocess.run(
            _as_user(argv + ["--wait", "--timeout", "30"], os_user),
            cwd=base,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=60,
            check=True,
        )
        return
    except (subprocess.SubprocessError, OSError):
        pass
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, signal.SIGQUIT)
    except (OSError, ValueError, IndexError):
        pass


def _tail(path: Path, lines: int) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _log_section(log: Path | None) -> str:
    if log is None:
        return ""
    tail = _tail(log, LOG_TAIL_LINES)
    return f"\n--- server log ({log}, last {LOG_TAIL_LINES} lines) ---\n{tail or '(empty)'}"
