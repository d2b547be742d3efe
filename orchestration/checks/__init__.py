"""Asset checks that read the warehouse after dbt has built it."""
