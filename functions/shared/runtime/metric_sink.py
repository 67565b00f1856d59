"""Business metrics from logic code, through Powertools Metrics (one EMF document per invocation)."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit

from functions.shared.runtime.observability import metrics


class PowertoolsMetrics:
    """`add(name, value, unit)` for logic that takes a metric sink; unit is a CloudWatch unit name."""

    def add(self, name: str, value: float, unit: str) -> None:
        metrics.add_metric(name=name, unit=MetricUnit(unit), value=value)
