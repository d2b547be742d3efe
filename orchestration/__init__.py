"""llm-margin: LLM cost attribution and AI gross margin warehouse (Dagster code location)."""
