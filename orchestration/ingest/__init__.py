"""Ingestion: landing files → validated raw lake (Parquet) + quarantine, idempotent per file content."""
