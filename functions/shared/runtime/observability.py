"""Logger and Metrics, created once per process. No Tracer, by measurement.

Lambda's active tracing (infra/constructs/function.py) records every invocation, its cold start and
its duration in X-Ray under the execution's Step Functions trace, with no code in the function. The
Powertools Tracer would add the handler's AWS calls as subsegments, at a cold-start price measured on
2026-12-06 (fresh interpreters, median of 11, boto3 + Logger + Metrics as the base): 186 ms without,
248 ms with `Tracer()` and `capture_lambda_handler` (+62 ms, +33%; `-X importtime`: aws_xray_sdk.core
28 ms of it, wrapt 18). Every module's cold import must stay within 1.3x of a bare boto3 handler
(`make bench`), which that alone would break, so the handlers are not traced.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
