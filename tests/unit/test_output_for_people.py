"""Output for people: tables that fit the terminal, colour only on a terminal, numbers right-aligned,
links followable, errors and decisions told without raw JSON or Python reprs."""

from __future__ import annotations

import io
import json
import re

from functions.shared.domain.decisions import Decision, DecisionRecord
from keel.ops.executions import readable_error
from keel.ops.explain import explain
from keel.render import PIPE, Link, Terminal, table

ANSI = re.compile(r"\x1b\[[0-9;]*m|\x1b\]8;[^\x1b]*\x1b\\")
CONSOLE = "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:x"
ROWS = [
    {
        "name": f"e7a3c9d0-5b1f-4e2a-9c8d-{index:012d}",
        "status": status,
        "started": "2026-12-06T09:01:50+00:00",
        "duration_s": duration,
        "functions": "match_runbook, check_guardrails, request_approval, remediate_service, verify_remediation",
    }
    for index, (status, duration) in enumerate([("FAILED", 0.21), ("SUCCEEDED", 1234.5), ("RUNNING", None)])
]
TERMINAL_80 = Terminal(width=80, colour=True, links=True)


def visible(text: str) -> str:
    return ANSI.sub("", text)


def test_a_table_fits_a_narrow_terminal_and_loses_nothing() -> None:
    # Given rows wider than 80 columns / When drawn for an 80-column terminal
    drawn = visible(table(ROWS, terminal=TERMINAL_80))

    # Then no line is wider than the terminal, and every value is still there, whole
    assert max(len(line) for line in drawn.splitlines()) <= 80
    for row in ROWS:
        assert row["name"] in drawn
        assert "2026-12-06T09:01:50+00:00" in drawn
    assert "remediate_service" in drawn


def test_a_wide_terminal_gets_columns_with_numbers_right_aligned() -> None:
    # Given a terminal wide enough / When the rows are drawn
    lines = visible(table(ROWS, terminal=Terminal(width=200, colour=False, links=False))).splitlines()

    # Then it is one table: a header, a line per row, durations aligned on their right edge
    assert lines[0].split() == ["NAME", "STATUS", "STARTED", "DURATION_S", "FUNCTIONS"]
    figures = ["0.21", "1234.50", "-"]
    ends = {line.index(f"{figure}  match_runbook") + len(figure) for line, figure in zip(lines[1:], figures, strict=True)}
    assert len(ends) == 1


def test_statuses_are_coloured_on_a_terminal_only() -> None:
    # When the same rows are drawn for a colour terminal, through a pipe, and with NO_COLOR set
    coloured = table(ROWS, terminal=TERMINAL_80)
    piped = table(ROWS, terminal=PIPE)
    no_color = Terminal.detect(FakeTty(), {"NO_COLOR": "1"})

    # Then only the terminal gets colour: FAILED red, SUCCEEDED green; a pipe and NO_COLOR get none
    assert "\x1b[1;31mFAILED" in coloured
    assert "\x1b[32mSUCCEEDED" in coloured
    assert "\x1b[" not in piped
    assert (no_color.colour, no_color.links) == (False, True)
    assert "\x1b[3" not in table(ROWS, terminal=no_color)


def test_links_are_followable_on_a_terminal_and_whole_in_a_pipe() -> None:
    # Given a row with a console link
    rows = [{"name": "run-1", "console": Link(CONSOLE, "open")}]

    # When drawn on a terminal and through a pipe
    on_terminal, piped = table(rows, terminal=TERMINAL_80), table(rows, terminal=PIPE)

    # Then the terminal shows `open` linked to the URL (OSC 8); the pipe shows the URL itself
    assert "\x1b]8;id=" in on_terminal
    assert f";{CONSOLE}\x1b\\open" in on_terminal
    assert CONSOLE in piped
    assert "\x1b" not in piped


def test_the_terminal_is_detected_from_the_stream_and_the_environment() -> None:
    # Given a pipe, a pipe with FORCE_COLOR (and a COLUMNS a shell may export), and a terminal
    piped = Terminal.detect(io.StringIO(), {})
    forced = Terminal.detect(io.StringIO(), {"COLUMNS": "100", "FORCE_COLOR": "1"})
    tty = Terminal.detect(FakeTty(), {})

    # Then a pipe has no width limit (nothing a script greps for is cut) and no colour unless asked; a terminal has both
    assert (piped.width, piped.colour, piped.links) == (None, False, False)
    assert (forced.width, forced.colour) == (None, True)
    assert tty.colour
    assert tty.links
    assert tty.width


def test_a_lambda_error_reads_as_its_message_and_the_line_that_raised_it() -> None:
    # Given the cause Step Functions keeps for a failed Lambda task
    cause = json.dumps(
        {
            "errorType": "NotFoundError",
            "errorMessage": "service orders/orders-api does not exist",
            "stackTrace": [
                '  File "/var/task/functions/shared/runtime/handler.py", line 80, in wrapper\n    return handler(task)\n',
                '  File "/var/task/functions/remediate_service/logic.py", line 42, in act\n    raise NotFoundError(...)\n',
            ],
        }
    )

    # When it is told / Then: the error, its message, where it was raised; no JSON, no stack
    assert readable_error("NotFoundError", cause) == [
        "NotFoundError: service orders/orders-api does not exist",
        "  raised at functions/remediate_service/logic.py:42 in act",
    ]
    assert readable_error("States.Timeout", "the state timed out") == ["States.Timeout: the state timed out"]


def test_explain_tells_details_without_python_reprs() -> None:
    # Given a decision whose details nest objects, booleans and lists
    decision = Decision(
        automation="alarm_remediation",
        automation_version="1.0.0",
        environment="dev",
        event_id="evt-1",
        execution_arn="arn:aws:states:eu-west-1:111111111111:execution:keel-dev-alarm_remediation:evt-1",
        step="Act",
        action="ecs_force_new_deployment",
        outcome="taken",
        reason="restarted",
        input_digest="sha256:00",
        details={"target": {"cluster": "orders", "service": "orders-api"}, "already_routed": False, "tags": ["a", "b"]},
    )
    record = DecisionRecord(seq=1, recorded_at="2026-12-06T09:00:00+00:00", prev_hash="0" * 64, hash="f" * 64, decision=decision)

    # When it is explained
    told = explain([record])

    # Then each detail is a line of its own, nested keys dotted, values as JSON spells them
    assert "{'" not in told
    assert "False" not in told
    assert re.search(r"details\s+already_routed\s+false", told)
    assert re.search(r"target\.cluster\s+orders", told)
    assert re.search(r"tags\s+a, b", told)


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True
