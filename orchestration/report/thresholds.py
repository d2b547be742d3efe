"""The report's one noise threshold, named here and documented in docs/report.md.

``marts.mart_runaway_workspaces`` flags a workspace-day by ratio (spend k times its usual day)
or by runaway tasks, whatever the amount: right for alerts and the gateway cap list, which act on
any runaway, but a founder reading the week does not need a $0.02 spike. The report lists the
runaway workspace-days that spent at least this much that day and counts the rest in one line
(how many, and what they spent together), so nothing is hidden and nothing small is itemised.
"""

from __future__ import annotations

from decimal import Decimal

RUNAWAY_MIN_SPEND_USD = Decimal("1.00")
