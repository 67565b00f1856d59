#!/usr/bin/env python3
"""CDK entry point: every environment of config/environments.yaml, each its own Stage."""

from __future__ import annotations

import os
import sys

from infra.app_builder import build_app
from infra.errors import KeelConfigError


def main() -> int:
    try:
        keel = build_app(outdir=os.environ.get("CDK_OUTDIR", "cdk.out"))
    except KeelConfigError as error:
        print(f"keel: invalid configuration: {error}", file=sys.stderr)
        return 1
    keel.app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
