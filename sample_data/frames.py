"""A frame is a dict of equally long numpy arrays: the generator's only in-memory table shape.

Integers use ``NULL`` (int64 minimum) for a missing value so that negative token counts stay
representable; codes and sequence numbers use -1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Frame = dict[str, np.ndarray]
NULL = np.iinfo(np.int64).min


def length(frame: Frame) -> int:
    return len(next(iter(frame.values()))) if frame else 0


def take(frame: Frame, index: np.ndarray) -> Frame:
    return {key: value[index] for key, value in frame.items()}


def concat(frames: Sequence[Frame]) -> Frame:
    frames = [f for f in frames if f]
    if not frames:
        return {}
    keys = frames[0].keys()
    return {key: np.concatenate([f[key] for f in frames]) for key in keys}
