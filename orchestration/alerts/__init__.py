"""Budget and abuse alerts: rules (which thresholds a budget row crossed), the dedupe record in
``audit.budget_alerts``, the webhook outbox, and the assets that run them (docs/budgets.md)."""
