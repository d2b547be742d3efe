"""Identifiers: sequence numbers turned into random-looking, unique, seed-dependent strings.

Inside the generator every id is an int64 sequence number (-1 = null). Only the writers turn them
into text, through a bijective 64-bit mix (the splitmix64 finaliser), so ids never collide and
two seeds give different ids.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix64(seq: np.ndarray, key: int) -> np.ndarray:
    """A bijection of uint64: distinct inputs give distinct outputs."""
    x = seq.astype(np.uint64) + np.uint64(key & 0xFFFFFFFFFFFFFFFF)
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


def render_ids(seq: np.ndarray, prefix: str, key: int, width: int = 16) -> pa.Array:
    """``prefix`` + hex of the mixed sequence number; null where ``seq < 0``."""
    seq = np.asarray(seq, dtype=np.int64)
    if len(seq) == 0:
        return pa.array([], type=pa.string())
    mixed = mix64(np.where(seq < 0, 0, seq), key)
    hexed = np.frombuffer(mixed.astype(">u8").tobytes().hex().encode("ascii"), dtype="S16")
    if width < 16:
        hexed = hexed.astype(f"S{width}")
    text = pa.array(hexed, type=pa.binary(width) if width < 16 else pa.binary(16))
    text = pc.cast(pc.cast(text, pa.binary()), pa.string())
    out = pc.binary_join_element_wise(prefix, text, "")
    return pc.if_else(pa.array(seq < 0), pa.scalar(None, pa.string()), out)


def render_id(seq: int, prefix: str, key: int, width: int = 16) -> str:
    """``render_ids`` of one sequence number (>= 0), in plain Python: quick for one id at a time."""
    mask = 0xFFFFFFFFFFFFFFFF
    x = (seq + (key & mask)) & mask
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & mask
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & mask
    x ^= x >> 31
    return prefix + f"{x:016x}"[:width]
