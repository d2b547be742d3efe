"""Budget and abuse alerts: rules (which thresholds a budget row crossed), the dedupe record in
``audit.budget_alerts``, the webhook outbox, and the assets that run them (docs/budgets.md)."""

from dagster import Definitions


def definitions() -> Definitions:
    """The budget alerts and the gateway cap list file."""
    from orchestration.alerts.assets import budget_alerts, gateway_caps_json

    return Definitions(assets=[budget_alerts, gateway_caps_json])
