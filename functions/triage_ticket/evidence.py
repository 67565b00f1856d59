"""The ticket evidence kept for replay; it lives in functions/shared/ticket_model so retraining reads what triage keeps."""

from functions.shared.ticket_model.evidence import EvidenceStore, evidence_of, ticket_from_evidence

__all__ = ["EvidenceStore", "evidence_of", "ticket_from_evidence"]
