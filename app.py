#!/usr/bin/env python3
"""CDK entry point: every environment of config/environments.yaml, each its own Stage."""

from __future__ import annotations

import os
import sys

from infra.app_builder import build_app
from infra.errors import KeelConfigError
from infra.quotas import QuotaExceeded
from infra.synthesis import synthesize


def main() -> int:
    try:
        synthesize(build_app(outdir=os.environ.get("CDK_OUTDIR", "cdk.out")))
    except KeelConfigError as error:
        print(f"keel: invalid configuration: {error}", file=sys.stderr)
        return 1
    except QuotaExceeded as error:
        print(f"keel: quota: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
