"""The ticket advisor's model (multinomial naive Bayes) and its training: shared by the module that advises
(triage_ticket) and the one that retrains it (retrain_advisor), so both read and write one format."""
