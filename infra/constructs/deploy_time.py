"""Values CloudFormation reads from SSM Parameter Store at deploy time, not synth time.

Synth never calls AWS, so what only AWS knows (the public Powertools layer's ARN, the platform key's
ARN that KMS chose) comes in as a template parameter of type AWS::SSM::Parameter::Value<String>.
The CDK CLI treats any such parameter as changed on every deploy (it cannot know the value), so a
stack holding one is never skipped as unchanged; `[cdk:skip]` in the description tells it not to.
Both values here are fixed for the parameter's name (the layer's name carries its version; the
platform key is retained, never replaced), so skipping is right: an unchanged automation stack
is not redeployed when its team deploys another.
"""

from __future__ import annotations

from aws_cdk import CfnParameter
from constructs import Construct

NO_REDEPLOY = "[cdk:skip]"


def deploy_time_value(scope: Construct, construct_id: str, parameter_name: str, what: str) -> str:
    """The value of the SSM parameter `parameter_name`, resolved when the stack is deployed."""
    parameter = CfnParameter(
        scope,
        construct_id,
        type="AWS::SSM::Parameter::Value<String>",
        default=parameter_name,
        description=f"{what}, read from SSM at deploy time; fixed for this parameter name {NO_REDEPLOY}",
    )
    return parameter.value_as_string
