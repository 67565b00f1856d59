"""Shared by the remediation modules only (match_runbook, check_guardrails, remediate_service,
contain_threat, verify_remediation): the plan a runbook makes, the task inputs that carry it, and how
a decision about a plan, or an action taken on it, goes on the record.
"""
