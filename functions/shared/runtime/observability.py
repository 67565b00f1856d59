"""Logger and Metrics, created once per process; the Tracer only for modules that ask for it.

Lambda's active tracing already records every invocation. The Powertools Tracer pulls in the X-Ray
SDK (about 250 ms of cold start), so it is built on first use, by modules that add subsegments.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

logger = Logger()
metrics = Metrics()


@cache
def tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    return Tracer()
