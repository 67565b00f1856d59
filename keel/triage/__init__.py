"""Ticket triage tooling that does not run in Lambda: training and evaluating the ticket classifier."""
