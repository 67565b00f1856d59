"""Canary: fails loudly, naming the patch point, when a moto upgrade moves what the local cloud patches."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from keel.local import moto_cloudwatch, moto_patches
from keel.local.errors import LocalCloudError
from tests.support.moto_hooks import IdleHooks


def test_moto_is_the_version_the_patches_were_written_for() -> None:
    assert version("moto") == moto_patches.MOTO_VERSION, (
        f"moto {version('moto')} is installed; keel/local/moto_patches.py is written for moto {moto_patches.MOTO_VERSION}: "
        "re-verify every patch point, then update MOTO_VERSION"
    )


def test_every_patch_point_resolves() -> None:
    found = moto_patches.check_patch_points()

    assert "moto.awslambda.models.LambdaFunction._invoke_lambda" in found
    assert "moto.events.models.Rule.send_to_targets" in found
    assert "moto.core.responses.BaseResponse.call_action" in found
    assert "moto.cloudwatch.responses.CloudWatchResponse" in found
    modules = (moto_patches.DATETIME_MODULES, moto_patches.THREADING_MODULES, moto_patches.THREAD_MODULES)
    fixed = 8 + len(moto_cloudwatch.POINTS)
    assert len(found) == len(moto_patches.PATCHED_METHODS) + fixed + sum(len(patched) for patched in modules)


def test_a_moved_patch_point_is_named_in_the_error() -> None:
    with pytest.raises(LocalCloudError, match=r"moto patch point moto\.events\.models\.Rule\.gone is gone"):
        moto_patches._resolve("moto.events.models", "Rule", "gone")


def test_patches_are_installed_and_then_restored() -> None:
    from moto.awslambda.models import LambdaFunction
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.events.models import Rule

    originals = (LambdaFunction._invoke_lambda, Rule.send_to_targets)

    with moto_patches.installed(IdleHooks()):
        assert (LambdaFunction._invoke_lambda, Rule.send_to_targets) != originals
        assert hasattr(CloudWatchResponse, "describe_alarm_history")

    assert (LambdaFunction._invoke_lambda, Rule.send_to_targets) == originals
    # moto has no DescribeAlarmHistory of its own: the one added is gone again
    assert not hasattr(CloudWatchResponse, "describe_alarm_history")
