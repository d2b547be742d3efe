"""The plan-margin calculator (``llm-margin plan-calculator``): will a plan make money?

``plan_file``  the plan YAML: schema and validation (file, line, reason) before anything runs
``shapes``     token sizes per feature (observed traffic, a public trace, or the file's numbers)
               written as call shapes into ``lake/plan_shapes/call_shapes.parquet``
``pricing``    dbt builds ``int_call_shapes_priced`` (the one pricing path) and each task's cost
``method``     the Monte Carlo method: tasks per customer-month and cost per customer
``replay``     after launch: a plan's real customers at a proposed price or included-task cap
``calculator`` runs the steps; ``output`` prints them. docs/decisions.md, "Plan-margin calculator".
"""
