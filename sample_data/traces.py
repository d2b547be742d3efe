"""Token sizes, prompt-cache reuse and arrival shape, from real traces when they are at hand.

Sources (read in place, never copied; see ../shared/datasets/README.md):

* Azure LLM inference trace 2023 (Azure/AzurePublicDataset, CC-BY-4.0): ``ContextTokens`` and
  ``GeneratedTokens`` of code-completion and conversation requests, and their arrival times.
* Mooncake conversation trace 2025 (kvcache-ai/Mooncake, Apache-2.0): ``input_length``,
  ``output_length`` and ``hash_ids`` (one per 512-token prompt block); a block already seen in an
  earlier request is a prompt-cache hit, which gives the share of cached prompt tokens.

Without the traces, sizes are lognormal and the within-hour arrival is uniform.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

AZURE_DIR = "azure-llm-inference-2023"
MOONCAKE_DIR = "mooncake-2025"
MOONCAKE_BLOCK = 512

# Share of a day's traffic per UTC hour: Europe and the Americas working days overlap at 13-17 UTC.
DIURNAL = np.array(
    [
        0.9,
        0.7,
        0.6,
        0.55,
        0.6,
        0.8,
        1.2,
        1.8,
        2.6,
        3.4,
        3.9,
        4.2,
        4.4,
        5.0,
        5.6,
        5.8,
        5.6,
        5.0,
        4.4,
        3.8,
        3.0,
        2.2,
        1.6,
        1.2,
    ]
)
DIURNAL = DIURNAL / DIURNAL.sum()

# Lognormal fallbacks (median, sigma) for prompt and completion sizes per trace kind.
_LOGNORMAL = {
    "conv": ((1000, 0.9), (130, 0.9)),
    "code": ((1500, 1.0), (14, 0.9)),
    "mooncake": ((7000, 1.0), (330, 0.8)),
}


@dataclass(frozen=True)
class TraceProfile:
    """Empirical samples to draw from; empty arrays mean "use the fallback"."""

    sizes: dict[str, tuple[np.ndarray, np.ndarray]]  # kind -> (prompt, completion)
    cache_fractions: np.ndarray  # per mooncake request: cached share of its prompt
    within_hour_s: np.ndarray  # arrival offsets inside an hour, seconds
    sources: tuple[str, ...]

    @property
    def from_traces(self) -> bool:
        return bool(self.sources)

    def sample_sizes(
        self, kind: str, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        if kind in self.sizes:
            prompt, completion = self.sizes[kind]
            pick = rng.integers(0, len(prompt), n)
            jitter = rng.uniform(0.9, 1.1, n)
            return (
                np.maximum(1, prompt[pick] * jitter).astype(np.int64),
                np.maximum(1, completion[pick] * jitter).astype(np.int64),
            )
        (pm, ps), (cm, cs) = _LOGNORMAL[kind]
        prompt = np.clip(rng.lognormal(np.log(pm), ps, n), 20, 120_000)
        completion = np.clip(rng.lognormal(np.log(cm), cs, n), 1, 4_000)
        return prompt.astype(np.int64), completion.astype(np.int64)

    def sample_cache_fraction(self, n: int, rng: np.random.Generator) -> np.ndarray:
        if len(self.cache_fractions):
            return self.cache_fractions[rng.integers(0, len(self.cache_fractions), n)]
        hit = rng.random(n) < 0.5
        return np.where(hit, rng.beta(3, 2, n), 0.0)

    def sample_seconds_of_day(self, n: int, rng: np.random.Generator) -> np.ndarray:
        hours = rng.choice(24, size=n, p=DIURNAL)
        if len(self.within_hour_s):
            offsets = self.within_hour_s[rng.integers(0, len(self.within_hour_s), n)]
            offsets = (offsets + rng.uniform(0, 1, n)) % 3600
        else:
            offsets = rng.uniform(0, 3600, n)
        return hours * 3600 + offsets


def default_traces_dir(project_root: Path) -> Path:
    return project_root.parent / "shared" / "datasets"


def load_profile(traces_dir: Path | None) -> TraceProfile:
    """Read what the traces directory holds; missing files just switch to the fallbacks."""
    if traces_dir is None or not Path(traces_dir).is_dir():
        return _EMPTY
    root = Path(traces_dir).resolve()
    return _load(str(root))


_EMPTY = TraceProfile({}, np.array([]), np.array([]), ())


@cache
def _load(root: str) -> TraceProfile:
    base = Path(root)
    sizes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    offsets: list[np.ndarray] = []
    sources: list[str] = []
    for kind in ("code", "conv"):
        path = base / AZURE_DIR / f"AzureLLMInferenceTrace_{kind}.csv"
        if not path.is_file():
            continue
        table = pacsv.read_csv(path)
        sizes[kind] = (_numbers(table["ContextTokens"]), _numbers(table["GeneratedTokens"]))
        ts = _numbers(pc.cast(table["TIMESTAMP"], pa.int64())) / 1e9
        offsets.append((ts - ts.min()) % 3600)
        sources.append(f"{AZURE_DIR}/{path.name}")
    cache_fractions = np.array([])
    path = base / MOONCAKE_DIR / "conversation_trace.jsonl"
    if path.is_file():
        table = pajson.read_json(path)
        prompt = _numbers(table["input_length"])
        sizes["mooncake"] = (prompt, _numbers(table["output_length"]))
        cache_fractions = _mooncake_cache_fractions(table, prompt)
        ts = _numbers(table["timestamp"]) / 1000.0
        offsets.append((ts - ts.min()) % 3600)
        sources.append(f"{MOONCAKE_DIR}/{path.name}")
    within = np.concatenate(offsets) if offsets else np.array([])
    return TraceProfile(sizes, cache_fractions, within, tuple(sources))


def _numbers(column) -> np.ndarray:
    """A null-free numeric arrow column as float64 (via its buffer; no pandas import)."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    arr = pc.cast(arr, pa.float64(), safe=False)
    return np.frombuffer(arr.buffers()[1], dtype=np.float64)[arr.offset : arr.offset + len(arr)]


def _mooncake_cache_fractions(table, prompt: np.ndarray) -> np.ndarray:
    """Per request: share of its prompt made of blocks an earlier request already sent."""
    hashes = table["hash_ids"].combine_chunks()
    blocks = _numbers(pc.list_flatten(hashes)).astype(np.int64)
    lengths = _numbers(pc.list_value_length(hashes)).astype(np.int64)
    request = np.repeat(np.arange(len(lengths)), lengths)
    _, first = np.unique(blocks, return_index=True)
    first_request = np.empty(blocks.max() + 1, dtype=np.int64)
    first_request[blocks[first]] = request[first]
    hit = first_request[blocks] < request
    hits = np.bincount(request[hit], minlength=len(lengths))
    return np.clip(hits * MOONCAKE_BLOCK / np.maximum(prompt, 1), 0.0, 1.0)
