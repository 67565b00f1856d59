"""The default advisor's model; it lives in functions/shared/ticket_model so retraining writes what this reads."""

from functions.shared.ticket_model.naive_bayes import NaiveBayesModel, Prediction, tokens

__all__ = ["NaiveBayesModel", "Prediction", "tokens"]
