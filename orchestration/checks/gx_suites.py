"""Great Expectations (1.x) suites as Dagster asset checks, run on the batch an ingestion asset has
just loaded.

An expectation with ``meta.blocking`` protects money: when it fails, the ingestion asset's
blocking check fails and nothing downstream (dbt) is built in that run. The others warn.

The batch is what the last materialization of the asset loaded: its metadata ``loaded_sha256``
lists the content hashes of the landing files it loaded, and the lake's file names carry them.
How a batch is read, sampled and validated is gx_validation.py's; where (a worker process
started before the first check, or this one) is gx_worker.py's.
"""

from collections.abc import Callable, Iterable
from pathlib import Path

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    MetadataValue,
    multi_asset_check,
)

from orchestration.checks.gx_validation import Outcome, load_suite
from orchestration.ingest.lake import HASH_PREFIX, LOADED_SHAS
from orchestration.paths import data_paths


def check_results(
    outcomes: Iterable[Outcome],
    blocking_check: tuple[AssetKey, str],
    warn_check: tuple[AssetKey, str],
    batch: dict,
    sample: dict | None = None,
) -> list[AssetCheckResult]:
    """The blocking and the warning check's results; ``sample`` (``Sample.describe``) says which
    rows of the batch GX saw, when the suite samples."""
    outcomes = list(outcomes)
    results = []
    for (asset_key, name), blocking in ((blocking_check, True), (warn_check, False)):
        mine = [o for o in outcomes if o.blocking == blocking]
        failed = [o for o in mine if not o.success]
        sampled = {"sample": MetadataValue.json(sample)} if sample else {}
        results.append(
            AssetCheckResult(
                asset_key=asset_key,
                check_name=name,
                passed=not failed,
                severity=AssetCheckSeverity.ERROR if blocking else AssetCheckSeverity.WARN,
                metadata={
                    "batch": MetadataValue.json(batch),
                    **sampled,
                    "expectations_evaluated": len(mine),
                    "expectations_failed": len(failed),
                    "failures": MetadataValue.json([o.describe() for o in failed]),
                    "summary": MetadataValue.md(
                        _summary(failed) if failed else "all expectations met"
                    ),
                },
            )
        )
    return results


def _summary(failed: list[Outcome]) -> str:
    lines = ["| expectation | column | unexpected | sample (file, row) |", "|---|---|---|---|"]
    for o in failed:
        sample = "; ".join(
            ", ".join(f"{k}={v}" for k, v in row.items()) for row in o.sample[:3]
        ).replace("|", "/")
        lines.append(
            f"| {o.expectation} | {o.column} | {o.unexpected_count} of {o.element_count} | {sample} |"
        )
    return "\n".join(lines)


def _loaded_shas(context: AssetCheckExecutionContext, asset_key: AssetKey) -> list[str]:
    event = context.instance.get_latest_materialization_event(asset_key)
    if event is None or event.asset_materialization is None:
        return []
    value = event.asset_materialization.metadata.get(LOADED_SHAS)
    return list(value.value) if value is not None else []


def gx_check(
    *,
    name: str,
    suite: str,
    part_assets: dict[str, AssetKey],
    files_for: Callable[[Path, str, str], list[Path]],
):
    """A multi asset check running suite ``suite`` on the batch each part's asset just loaded:
    per part, a blocking check ``gx_<suite>`` and a warning one ``gx_<suite>_warnings`` on the
    part's asset. ``files_for(lake_root, part, sha)`` lists the lake files a file content became."""
    sample = load_suite(suite).get("sample")
    on = (
        f"a deterministic sample of the batch just loaded (about {sample['rows']:,} rows, by a "
        f"hash of {sample['key']}; the check's metadata says how many and how drawn)"
        if sample
        else "the batch just loaded"
    )
    specs = []
    for part, key in part_assets.items():
        specs += [
            AssetCheckSpec(
                f"gx_{suite}",
                asset=key,
                blocking=True,
                description=f"Blocking expectations of expectations/{suite}.json ({part}) on {on}.",
            ),
            AssetCheckSpec(
                f"gx_{suite}_warnings",
                asset=key,
                description=f"Warning expectations of expectations/{suite}.json ({part}) on {on}.",
            ),
        ]

    @multi_asset_check(name=name, specs=specs)
    def _check(context: AssetCheckExecutionContext):
        lake = data_paths().lake
        shas = {part: _loaded_shas(context, key) for part, key in part_assets.items()}
        files_by_part = {
            part: [f for sha in shas[part] for f in files_for(lake, part, sha)]
            for part in part_assets
        }
        from orchestration.checks import gx_worker  # imports this module: import when run

        validation = gx_worker.validate_batch(suite, files_by_part)
        for part, key in part_assets.items():
            batch = {
                "lake_files": len(files_by_part[part]),
                "landing_files_sha256": [sha[:HASH_PREFIX] for sha in shas[part]][:50],
            }
            yield from check_results(
                [o for o in validation.outcomes if o.part in (part, "all")],
                (key, f"gx_{suite}"),
                (key, f"gx_{suite}_warnings"),
                batch,
                validation.samples.get(part) or validation.samples.get("all"),
            )

    return _check
