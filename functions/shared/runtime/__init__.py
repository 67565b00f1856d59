"""How a task runs on Lambda, whatever it does: `task_handler` (the one wrapper), parsing (the limits
every input meets, then its model), contracts (pydantic's API without its import cost), settings read
once from the environment, the project's exceptions (the names ASL Retry/Catch match on), Logger and
Metrics, and the clock. Only the wrapper looks into a task, for the `$.keel` context its logs and
metrics are keyed on (domain/context.py).
"""
