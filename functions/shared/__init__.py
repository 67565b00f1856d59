"""What the function modules share, one package per kind of thing; a module imports only what it uses
and its deployment package holds only that (infra/packaging.py follows the imports).

- runtime/      how a task runs: the handler wrapper, contracts (the validator), settings, errors,
                logging and metrics, the clock. Knows nothing about automations.
- domain/       what the platform knows: the `$.keel` context every task receives, and the records it
                keeps in its tables (decisions, approvals, overrides, event claims).
- adapters/     every call to AWS, turning ClientError into the project's exceptions.
- remediation/  shared by the remediation modules only (match_runbook, check_guardrails,
                remediate_service, contain_threat, verify_remediation): the plan and how actions record.
"""
