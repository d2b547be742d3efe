"""Dagster concurrency pools.

``warehouse_writer`` is the one pool of every asset or op that writes the lake or the DuckDB
warehouse, or reads the warehouse file (DuckDB lets one process hold a file opened for writing,
and then no other process may open it). With the pool limit set to 1 (``make dagster`` writes
``$DAGSTER_HOME/dagster.yaml`` with ``concurrency.pools.default_limit: 1``) such steps of
different runs never overlap. See docs/budgets.md, "Runs that write never overlap".
"""

WAREHOUSE_POOL = "warehouse_writer"
