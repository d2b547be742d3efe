"""The address the local servers listen on: the Dagster UI (``make dagster``), the dbt docs site
(``make docs-serve``) and the local PostgreSQL (``make serve-postgres``).

``$LLM_MARGIN_BIND_HOST``, default ``127.0.0.1``: reachable from this machine only. Set it to
``0.0.0.0`` (or an address of the machine) to let other machines connect, knowing that none of
these servers asks who connects except PostgreSQL (docs/security.md).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping

BIND_HOST_ENV = "LLM_MARGIN_BIND_HOST"
DEFAULT_BIND_HOST = "127.0.0.1"
# One host name or IPv4/IPv6 address, or *: it reaches command lines and postgresql.conf.
_HOST = re.compile(r"[A-Za-z0-9.:*-]{1,253}")
# Listening on these, a client on this machine connects to the loopback address.
_LOOPBACK_FOR = {"127.0.0.1", "localhost", "0.0.0.0", "*", "::", "::1"}


class BindHostError(ValueError):
    """``$LLM_MARGIN_BIND_HOST`` is not one host name or address."""


def bind_host(environ: Mapping[str, str] | None = None) -> str:
    raw = (os.environ if environ is None else environ).get(BIND_HOST_ENV, "").strip()
    if not raw:
        return DEFAULT_BIND_HOST
    if not _HOST.fullmatch(raw):
        raise BindHostError(
            f"{BIND_HOST_ENV} must be one host name or IP address (letters, digits, . : - or *), "
            f"got {raw!r}"
        )
    return raw


def connect_host(listen: str) -> str:
    """Where a client on this machine reaches a server listening on ``listen``."""
    return "127.0.0.1" if listen in _LOOPBACK_FOR else listen


def main() -> int:
    """``python -m orchestration.bind``: print the bind host (the Makefile's servers use it)."""
    try:
        print(bind_host())
    except BindHostError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
