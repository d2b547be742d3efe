"""A local PostgreSQL for the PostgreSQL serving target, for people who have none
(``make serve-postgres``, ``llm-margin serving-postgres start|stop|status``).

The cluster lives in ``$LLM_MARGIN_DATA_DIR/postgres/`` (``data/``, ``server.log``, and
``credentials.json`` with its two passwords, mode 0600), listens on ``$LLM_MARGIN_BIND_HOST``
(default 127.0.0.1: this machine only; orchestration/bind.py) over TCP, port 5433 unless chosen
at creation, and asks for passwords (scram-sha-256; initdb's pg_hba.conf admits 127.0.0.1 only). Created once with:

- the database ``llm_margin``, owned by the superuser ``llm_margin`` that publishes into it;
- the reader role (``llm_margin_reader`` by default, NOLOGIN) and a login user ``llm_margin_bi``
  that is a member of it: what a BI tool connects as, read-only.

Starting it again when it runs says so and changes nothing. As root, the server runs as the
``postgres`` OS user (orchestration/serving/postgres_cluster.py).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from orchestration.bind import bind_host
from orchestration.paths import DataPaths
from orchestration.serving import postgres_cluster as cluster
from orchestration.serving.postgres_cluster import HOST, PostgresServerError

DEFAULT_PORT = 5433  # beside a system PostgreSQL on 5432
SUPERUSER = "llm_margin"
DATABASE = "llm_margin"
BI_USER = "llm_margin_bi"
CREDENTIALS = "credentials.json"


@dataclass(frozen=True)
class LocalPostgres:
    base: Path  # $LLM_MARGIN_DATA_DIR/postgres
    port: int
    password: str  # of SUPERUSER, who publishes
    bi_password: str  # of BI_USER, who reads
    reader_role: str

    @property
    def pgdata(self) -> Path:
        return self.base / "data"

    @property
    def log_file(self) -> Path:
        return self.base / "server.log"

    @property
    def url(self) -> str:
        """What ``LLM_MARGIN_SERVING_POSTGRES_URL`` is set to: the publishing user."""
        return f"postgresql://{SUPERUSER}:{self.password}@{HOST}:{self.port}/{DATABASE}"

    @property
    def bi_url(self) -> str:
        """What a BI tool connects with: the read-only user."""
        return f"postgresql://{BI_USER}:{self.bi_password}@{HOST}:{self.port}/{DATABASE}"


def listen_addresses() -> str:
    """What the server listens on: ``$LLM_MARGIN_BIND_HOST`` (default 127.0.0.1, this machine
    only), and 127.0.0.1 too, where this command and the serving target connect."""
    host = bind_host()
    loopback_included = host in (HOST, "localhost", "*", "0.0.0.0", "::")
    return host if loopback_included else f"{HOST},{host}"


def local_dir(paths: DataPaths) -> Path:
    return paths.root / "postgres"


def _read(base: Path) -> LocalPostgres | None:
    credentials = base / CREDENTIALS
    if not (base / "data" / "PG_VERSION").exists() or not credentials.exists():
        return None
    saved = json.loads(credentials.read_text())
    return LocalPostgres(
        base, saved["port"], saved["password"], saved["bi_password"], saved["reader_role"]
    )


def status(paths: DataPaths) -> tuple[LocalPostgres | None, bool]:
    """The local server of this data directory (None when never created), and whether it runs."""
    server = _read(local_dir(paths))
    if server is None:
        return None, False
    bin_dir = cluster.find_bin_dir()
    os_user = cluster.os_user_for_server()
    return server, cluster.is_running(bin_dir, server.pgdata, os_user, server.base)


def start(paths: DataPaths, reader_role: str, port: int | None = None) -> tuple[LocalPostgres, str]:
    """Create (first time) or start the local server; returns it and what happened: ``created``,
    ``started`` or ``already running``."""
    base = local_dir(paths)
    bin_dir = cluster.find_bin_dir()
    os_user = cluster.os_user_for_server()
    server = _read(base)
    if server is not None:
        if cluster.is_running(bin_dir, server.pgdata, os_user, base):
            return server, "already running"
        _refuse_busy_port(server.port)
        cluster.start(
            bin_dir, server.pgdata, server.log_file, os_user, base, None, listen_addresses()
        )
        cluster.wait_ready(bin_dir, HOST, server.port, server.log_file)
        return server, "started"
    if (base / "data").exists():
        raise PostgresServerError(
            f"{base / 'data'} exists but is not a complete llm-margin PostgreSQL (no PG_VERSION "
            f"or no {CREDENTIALS}); remove {base} to create it again"
        )
    port = port or DEFAULT_PORT
    _refuse_busy_port(port)
    base.mkdir(parents=True, exist_ok=True)
    cluster.give_to(base, os_user)
    cluster.check_writable_by(
        base,
        os_user,
        "as root the server runs as that user, who must be able to enter every parent directory "
        "of the data directory: chmod o+x them, or point LLM_MARGIN_DATA_DIR elsewhere",
    )
    server = LocalPostgres(
        base, port, secrets.token_urlsafe(18), secrets.token_urlsafe(18), reader_role
    )
    settings = {
        "listen_addresses": f"'{listen_addresses()}'",  # and again on every start
        "port": str(port),
        "unix_socket_directories": "''",  # TCP only
        "timezone": "'UTC'",
        "logging_collector": "off",
    }
    cluster.initdb(
        bin_dir,
        base,
        server.pgdata,
        os_user,
        superuser=SUPERUSER,
        password=server.password,
        settings=settings,
        sync=True,
    )
    credentials = base / CREDENTIALS
    credentials.touch(mode=0o600)
    credentials.write_text(
        json.dumps(
            {
                "port": port,
                "password": server.password,
                "bi_password": server.bi_password,
                "reader_role": reader_role,
            },
            indent=2,
        )
    )
    cluster.start(bin_dir, server.pgdata, server.log_file, os_user, base, None, listen_addresses())
    cluster.wait_ready(bin_dir, HOST, port, server.log_file)
    _create_database_and_roles(server)
    return server, "created"


def stop(paths: DataPaths) -> str:
    """Stop the local server (a fast shutdown); returns what happened."""
    server, running = status(paths)
    if server is None:
        return f"no local PostgreSQL in {local_dir(paths)}"
    if not running:
        return f"the local PostgreSQL in {server.base} is not running"
    bin_dir = cluster.find_bin_dir()
    cluster.stop(bin_dir, server.pgdata, cluster.os_user_for_server(), server.base, "fast")
    return f"stopped the local PostgreSQL on {HOST}:{server.port} (data kept in {server.pgdata})"


def _refuse_busy_port(port: int) -> None:
    if cluster.port_in_use(port):
        raise PostgresServerError(
            f"port {port} on {HOST} is already in use (another PostgreSQL?); choose another "
            f"when creating the server: make serve-postgres POSTGRES_PORT=<port>"
        )


def _create_database_and_roles(server: LocalPostgres) -> None:
    admin = f"postgresql://{SUPERUSER}:{server.password}@{HOST}:{server.port}/postgres"
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
        conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(server.reader_role)))
        conn.execute(
            sql.SQL("create role {} login password {} in role {}").format(
                sql.Identifier(BI_USER),
                sql.Literal(server.bi_password),
                sql.Identifier(server.reader_role),
            )
        )
