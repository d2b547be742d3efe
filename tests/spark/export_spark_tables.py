"""Write Spark warehouse relations to Parquet files, for tests/spark/test_engines_agree.py.

Run as a separate process (``python export_spark_tables.py OUT_DIR schema.name ...``): the local
Derby metastore admits one JVM at a time, so the session must be gone before dbt runs again.
The SparkSession is configured from the ``spark`` output of profiles.yml, rendered with the same
``env_var`` values dbt sees, so it opens the warehouse and metastore dbt just wrote.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import jinja2
import pyarrow.parquet as pq
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _env_var(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise KeyError(f"profiles.yml needs ${name}")
    return value


def spark_conf(target: str = "spark") -> dict[str, str]:
    """The server_side_parameters of a profiles.yml target, rendered."""
    profiles = yaml.safe_load((PROJECT_ROOT / "profiles.yml").read_text())
    output = profiles["llm_margin"]["outputs"][target]
    environment = jinja2.Environment()
    return {
        key: environment.from_string(str(value)).render(env_var=_env_var)
        for key, value in output.get("server_side_parameters", {}).items()
    }


def main(argv: list[str]) -> int:
    from pyspark.sql import SparkSession

    out_dir = Path(argv[0])
    out_dir.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_conf().items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    failed = 0
    try:
        for relation in argv[1:]:
            try:
                table = spark.table(relation).toArrow()
            except Exception as exc:  # reported per relation; the test fails on a missing file
                print(f"{relation}: {type(exc).__name__}: {exc}".splitlines()[0], file=sys.stderr)
                failed += 1
                continue
            pq.write_table(table, out_dir / f"{relation}.parquet")
    finally:
        spark.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
