"""Run a PostgreSQL server from its own binaries: find them, ``initdb`` a cluster, start it on
127.0.0.1, wait until it answers, stop it.

Shared by ``llm-margin serving-postgres`` (a persistent server in the data directory for people
who have none, orchestration/serving/postgres_local.py) and the test suite's throwaway server
(tests/postgres_server.py). ``initdb`` refuses to run as root: as root, every server command
runs as the ``postgres`` OS user (Debian's package creates it), in a directory that user owns.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

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
HOST = "127.0.0.1"
START_TIMEOUT_S = 60
COMMAND_TIMEOUT_S = 120
LOG_TAIL_LINES = 60


class PostgresServerError(RuntimeError):
    """The server could not be found, started or reached; the message says why."""


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


def os_user_for_server() -> str | None:
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


def give_to(path: Path, os_user: str | None) -> None:
    """Make ``path`` belong to the server's OS user (nothing to do when that is us)."""
    if os_user is not None:
        entry = pwd.getpwnam(os_user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def check_writable_by(base: Path, os_user: str | None, hint: str) -> None:
    """The server's OS user must reach and write ``base`` (every parent must let it in)."""
    if os_user is None:
        return
    result = subprocess.run(
        as_user(["test", "-w", str(base)], os_user),
        cwd=base,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )
    if result.returncode != 0:
        raise PostgresServerError(
            f"the {os_user!r} OS user cannot write to {base} "
            f"({result.stderr.strip() or 'test -w failed'}); {hint}"
        )


def as_user(argv: list[str], os_user: str | None) -> list[str]:
    if os_user is None:
        return argv
    if shutil.which("runuser"):
        return ["runuser", "-u", os_user, "--", *argv]
    return ["su", os_user, "-s", "/bin/sh", "-c", shlex.join(argv)]


def run(argv: list[str], os_user: str | None, cwd: Path, what: str, log: Path | None = None):
    """Run a server command (as the server's OS user); PostgresServerError with its output and
    the server log's tail when it fails."""
    command = as_user(argv, os_user)
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
            + log_section(log)
        ) from error
    if result.returncode != 0:
        raise PostgresServerError(
            f"{what} failed (exit {result.returncode}): {shlex.join(command)}\n"
            f"--- stdout ---\n{result.stdout.strip()}\n--- stderr ---\n{result.stderr.strip()}"
            + log_section(log)
        )
    return result


def initdb(
    bin_dir: Path,
    base: Path,
    pgdata: Path,
    os_user: str | None,
    *,
    superuser: str,
    password: str,
    settings: Mapping[str, str],
    sync: bool,
) -> None:
    """A new cluster in ``pgdata`` whose superuser ``superuser`` logs in with ``password``
    (scram-sha-256, local and host), UTF-8, C locale; ``settings`` appended to postgresql.conf.
    ``base`` is a directory the server's OS user owns (the password file passes through it)."""
    pwfile = base / f".pwfile-{os.getpid()}"
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    give_to(pwfile, os_user)
    argv = [
        str(bin_dir / "initdb"),
        "--pgdata",
        str(pgdata),
        "--username",
        superuser,
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
    ]
    if not sync:
        argv.append("--no-sync")
    try:
        run(argv, os_user, base, "initdb")
    finally:
        pwfile.unlink(missing_ok=True)
    with open(pgdata / "postgresql.conf", "a") as conf:
        conf.write("\n# llm-margin (orchestration/serving/postgres_cluster.py)\n")
        conf.writelines(f"{key} = {value}\n" for key, value in settings.items())


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def port_in_use(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        return sock.connect_ex((host, port)) == 0


def start(
    bin_dir: Path,
    pgdata: Path,
    log: Path,
    os_user: str | None,
    cwd: Path,
    port: int | None,
    listen: str | None = None,
) -> None:
    """pg_ctl start and wait; ``port`` None keeps the port postgresql.conf sets, ``listen``
    None its ``listen_addresses`` (a value checked by orchestration.bind: no quote or space)."""
    argv = [
        str(bin_dir / "pg_ctl"),
        "start",
        "--pgdata",
        str(pgdata),
        "--log",
        str(log),
        "--wait",
        "--timeout",
        str(START_TIMEOUT_S),
    ]
    options = []
    if port is not None:
        options.append(f"-p {port}")
    if listen is not None:
        options.append(f"-c listen_addresses='{listen}'")  # pg_ctl starts postgres through sh
    if options:
        argv += ["-o", " ".join(options)]
    run(argv, os_user, cwd, "pg_ctl start", log=log)


def wait_ready(bin_dir: Path, host: str, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    argv = [str(bin_dir / "pg_isready"), "--host", host, "--port", str(port)]
    argv += ["--dbname", "postgres", "--timeout", "2"]
    output = ""
    while time.monotonic() < deadline:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if result.returncode == 0:
            return
        output = (result.stdout + result.stderr).strip()
        time.sleep(0.2)
    raise PostgresServerError(
        f"the server on {host}:{port} was not ready within {START_TIMEOUT_S} s "
        f"(pg_isready: {output})" + log_section(log)
    )


def is_running(bin_dir: Path, pgdata: Path, os_user: str | None, cwd: Path) -> bool:
    """pg_ctl status: a postmaster runs from ``pgdata``."""
    if not (pgdata / "postmaster.pid").exists():
        return False
    result = subprocess.run(
        as_user([str(bin_dir / "pg_ctl"), "status", "--pgdata", str(pgdata)], os_user),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
    )
    return result.returncode == 0


def stop(bin_dir: Path, pgdata: Path, os_user: str | None, cwd: Path, mode: str) -> None:
    """Stop the server if one runs from ``pgdata``: pg_ctl stop -m ``mode``; for ``immediate``,
    SIGQUIT (the same shutdown) to the postmaster postmaster.pid names if pg_ctl fails."""
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    argv = [str(bin_dir / "pg_ctl"), "stop", "--pgdata", str(pgdata), "-m", mode]
    try:
        subprocess.run(
            as_user(argv + ["--wait", "--timeout", "60"], os_user),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=90,
            check=True,
        )
        return
    except (subprocess.SubprocessError, OSError) as error:
        if mode != "immediate":
            raise PostgresServerError(
                f"pg_ctl stop -m {mode} failed for {pgdata}: {error}"
            ) from error
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, signal.SIGQUIT)
    except (OSError, ValueError, IndexError):
        pass


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def log_section(log: Path | None) -> str:
    if log is None:
        return ""
    text = tail(log, LOG_TAIL_LINES)
    return f"\n--- server log ({log}, last {LOG_TAIL_LINES} lines) ---\n{text or '(empty)'}"
