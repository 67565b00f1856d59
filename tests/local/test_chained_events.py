"""An event one workflow puts on the bus starts the automations whose rules match it, in the same run."""

from __future__ import annotations

from keel.local.cloud import LocalCloud
from keel.local.template import EnvironmentTemplate
from tests.local.conftest import custom_event, with_test_workflow


def test_an_event_a_workflow_emits_runs_its_consumer_to_the_end_in_the_same_drive(dev_template: EnvironmentTemplate) -> None:
    # Given a workflow that puts a "Ticket Created" on the keel bus, which ticket_triage consumes
    template = with_test_workflow(dev_template, "emit_ticket")
    with LocalCloud(template) as cloud:
        [producer] = [delivery.execution_arn for delivery in cloud.deliver(custom_event("emit_ticket"))]
        assert producer is not None
        # When the run drives what it started
        cloud.drive()
        # Then the consumer started by the emitted event ran to its end too, and nothing is left running
        consumers = [d.execution_arn for d in cloud.deliveries if d.rule.startswith("keel-dev-ticket_triage")]
        assert cloud.execution_status(producer) == "SUCCEEDED"
        assert len(consumers) == 1
        assert [cloud.execution_status(arn) for arn in consumers if arn] == ["SUCCEEDED"]
        assert cloud.blocked == {}
