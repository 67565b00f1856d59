"""What every function module shares: observability, settings, errors, adapters, models."""
