"""Sensors: budget thresholds, webhook outbox delivery, new landing files."""
