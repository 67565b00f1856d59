"""Synthesize the app, then hold every stack to the quota guard (infra/quotas.py).

Everything that synthesizes goes through here (app.py, so `cdk deploy` and `make synth`; `keel synth`;
the local cloud; the tests). The CDK writes the assembly before its templates can be measured, so
when the guard stops synth it also takes the assembly's manifests away: neither the CDK CLI nor the
local cloud can then deploy the templates it refused, and the next `keel local` run synthesizes again.
"""

from __future__ import annotations

from pathlib import Path

from infra.app_builder import KeelApp
from infra.quotas import QuotaExceeded, StackFigures, check, figures_of


def synthesize(keel: KeelApp) -> dict[str, list[StackFigures]]:
    """Each environment's stacks' figures, platform first; raises QuotaExceeded naming the stack."""
    keel.app.synth()
    outdir = Path(keel.app.outdir)
    figures = {
        name: [figures_of(stack.stack_name, outdir / f"assembly-{name}" / stack.template_file) for stack in stacks.all()]
        for name, stacks in keel.environments.items()
    }
    try:
        check([stack for stacks in figures.values() for stack in stacks])
    except QuotaExceeded:
        for manifest in [outdir / "manifest.json", *outdir.glob("assembly-*/manifest.json")]:
            manifest.unlink(missing_ok=True)
        raise
    return figures
