"""dbt's saved parse (``partial_parse.msgpack``), reused by a build in another data directory.

dbt keeps the parsed project in ``partial_parse.msgpack`` and reuses it only while, among other
things, a hash of the profile's connection settings is unchanged. The DuckDB profile's ``path``
names the data directory, so every dbt command in a data directory other than the one ``dbt parse``
last saw parsed the whole project again (the tests use hundreds of data directories).

The profile's path is read by no model at parse time (the warehouse's database name is the file's
stem, the same in every data directory), and the values that do depend on the data directory are
the ``env_var('LLM_MARGIN_DATA_DIR')`` calls in the sources' yml, which dbt records in the saved
parse and re-parses, file by file, when their value changes. So before a dbt command runs, the
saved parse is copied into the command's target folder with its profile hash stamped for the
current data directory, but only when it was saved for exactly the current profile with another
data directory in it: the hash of the current connection settings, with the data directory
replaced by the one the saved parse recorded, must equal the hash it holds. Anything else (another
target, another memory limit, a dbt that hashes differently) is copied untouched and dbt decides,
as before: the worst case is the full parse that happened anyway. The re-parse of those files
keeps the saving modest (DECISIONLOG.md, "dbt's saved parse").
"""

from __future__ import annotations

import os
import pprint
from argparse import Namespace
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack

from orchestration.paths import DATA_DIR_ENV

SAVED_PARSE = "partial_parse.msgpack"


def _with_data_dir(value: Any, now: str, then: str) -> Any:
    if isinstance(value, str):
        return value.replace(now, then)
    if isinstance(value, dict):
        return {k: _with_data_dir(v, now, then) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_with_data_dir(v, now, then) for v in value)
    return value


def profile_hash(connection_info: list[tuple[str, Any]]) -> str:
    """dbt's hash of a profile's connection settings, as ``build_manifest_state_check`` in
    dbt/parser/manifest.py computes it for the saved parse's ``state_check.profile_hash``."""
    from dbt.contracts.files import FileHash

    return FileHash.from_contents(pprint.pformat(sorted(connection_info))).checksum


def connection_info(project_dir: Path, profiles_dir: Path, target: str) -> list[tuple[str, Any]]:
    """The connection settings dbt will hash for ``target``, rendered from this process's
    environment (the one a dbt subprocess inherits)."""
    from dbt.config.runtime import load_profile
    from dbt.flags import set_from_args
    from dbt_common.context import set_invocation_context

    set_invocation_context(os.environ.copy())
    set_from_args(Namespace(profiles_dir=str(profiles_dir)), None)
    profile = load_profile(str(project_dir), {}, None, target)
    return list(profile.credentials.connection_info())


def restamped(
    saved: dict, current_info: Callable[[], list[tuple[str, Any]]], data_dir: str
) -> bool:
    """Stamp the saved parse ``saved`` (unpacked) for the connection settings ``current_info()``
    returns, in ``data_dir``, when it was saved for the same settings in another data directory;
    True when it was stamped. ``current_info`` loads dbt's profile in this process (1.5-1.8 s
    when dbt is not yet imported), so it is called only for a parse saved elsewhere: the usual
    command runs in the directory it was parsed for."""
    then = (saved.get("env_vars") or {}).get(DATA_DIR_ENV)
    state = saved.get("state_check") or {}
    stored = (state.get("profile_hash") or {}).get("checksum")
    if not then or not stored or then == data_dir:
        return False
    info = current_info()
    as_saved = [(key, _with_data_dir(value, data_dir, then)) for key, value in info]
    if profile_hash(as_saved) != stored:
        return False
    state["profile_hash"] = {"name": "sha256", "checksum": profile_hash(info)}
    return True


def copy_saved_parse(
    source: Path, destination: Path, *, project_dir: Path, profiles_dir: Path, target: str
) -> bool:
    """Copy the saved parse ``source`` into the folder ``destination``, stamped for this process's
    data directory where that is sound (the module's docstring); True when it was stamped. Does
    nothing when there is no saved parse or the folder already holds one."""
    copy = destination / SAVED_PARSE
    if not source.exists() or copy.exists():
        return False
    as_read = source.read_bytes()
    saved = msgpack.unpackb(as_read, raw=False, strict_map_key=False)
    data_dir = os.environ.get(DATA_DIR_ENV)
    try:
        stamped = bool(data_dir) and restamped(
            saved, lambda: connection_info(project_dir, profiles_dir, target), data_dir
        )
    except Exception:  # noqa: BLE001 - the profile is dbt's to report; its run says what is wrong
        stamped = False
    destination.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(msgpack.packb(saved, use_bin_type=True) if stamped else as_read)
    return stamped
