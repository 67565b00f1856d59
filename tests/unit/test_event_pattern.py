"""trigger.event_pattern: every matcher EventBridge accepts passes synth, anything else is one line naming the field."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from infra.errors import KeelConfigError, NestedFieldError
from infra.event_pattern import check_event_pattern


def detail(**fields: Any) -> dict[str, Any]:
    return {"source": ["keel.test"], "detail": fields}


# The user guide's examples (comparison operators, event pattern syntax), one form each.
ACCEPTED = {
    "exact-values": detail(state=["terminated", "", 10, 3.5, True, False, None]),
    "nested-object": detail(requestParameters={"bucketName": ["a", "b"]}),
    "top-level-prefix": {"source": [{"prefix": "app."}]},
    "top-level-suffix": {"resources": [{"suffix": "-prod"}]},
    "prefix-ignore-case": detail(service=[{"prefix": {"equals-ignore-case": "EventB"}}]),
    "suffix-ignore-case": detail(FileName=[{"suffix": {"equals-ignore-case": ".png"}}]),
    "empty-prefix": detail(name=[{"prefix": ""}]),
    "equals-ignore-case": detail(name=[{"equals-ignore-case": "alice"}]),
    "wildcard": detail(path=[{"wildcard": "dir/*.png"}, {"wildcard": "literal \\* and \\\\"}]),
    "anything-but-string": detail(state=[{"anything-but": "initializing"}]),
    "anything-but-number": detail(limit=[{"anything-but": 123}]),
    "anything-but-strings": detail(state=[{"anything-but": ["stopped", "overloaded"]}]),
    "anything-but-numbers": detail(limit=[{"anything-but": [100, 200, 300]}]),
    "anything-but-prefix": detail(region=[{"anything-but": {"prefix": "us-"}}]),
    "anything-but-suffixes": detail(file=[{"anything-but": {"suffix": [".png", ".jpg"]}}]),
    "anything-but-ignore-case": detail(state=[{"anything-but": {"equals-ignore-case": ["Stopped", "OVERLOADED"]}}]),
    "anything-but-wildcard": detail(path=[{"anything-but": {"wildcard": "*/lib/*"}}]),
    "numeric-comparisons": detail(
        a=[{"numeric": [">", 0, "<=", 5]}],
        b=[{"numeric": ["<", 10]}],
        c=[{"numeric": ["=", 3.018e2]}],
        d=[{"numeric": [">=", -5e9, "<", 5e9]}],
    ),
    "exists": detail(present=[{"exists": True}], absent=[{"exists": False}]),
    "cidr-ipv4": detail(sourceIPAddress=[{"cidr": "10.0.0.0/24"}]),
    "cidr-ipv6": detail(sourceIPAddress=[{"cidr": "2001:db8::/64"}]),
    "ip-as-value": detail(sourceIPAddress=["10.0.0.1"]),
    "mixed-leaf": detail(state=["running", {"prefix": "stop"}, {"exists": False}]),
    "or-in-detail": detail(**{"$or": [{"c-count": [{"numeric": [">", 0]}]}, {"d-count": [{"numeric": ["<", 10]}]}]}),
    "or-at-top": {"source": ["aws.ec2"], "$or": [{"detail-type": ["A"]}, {"resources": [{"prefix": "arn:aws:ec2"}]}]},
    "nested-or": detail(**{"$or": [{"a": ["1"]}, {"$or": [{"b": ["2"]}, {"c": ["3"]}]}]}),
    "detail-as-list": {"detail": [{"exists": True}]},
    "huge-but-exact-number": detail(n=[{"numeric": [">", 10**30]}]),
}


@pytest.mark.parametrize("pattern", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_every_documented_matcher_is_accepted(pattern) -> None:
    # Given a pattern the EventBridge user guide shows / When checked / Then it passes
    check_event_pattern(pattern)


REFUSED = [
    (detail(state={"value": [{"wildcrd": "A*"}]}), "detail.state.value.0", "unknown matcher 'wildcrd' (matchers: prefix,"),
    ({"source": [{"prefix": 123}]}, "source.0.prefix", "takes a string or {equals-ignore-case: <string>}, got 123"),
    (detail(a=[{"exactly": "x"}]), "detail.a.0", "unknown matcher 'exactly'"),
    (detail(a=[{"prefix": "x", "suffix": "y"}]), "detail.a.0", "exactly one matcher (found: prefix, suffix)"),
    (detail(a=[{}]), "detail.a.0", "exactly one matcher (found: none)"),
    (detail(a=[{"prefix": {"equals-ignore-case": "x", "other": 1}}]), "detail.a.0.prefix", "takes a string or"),
    (detail(a=[{"suffix": {"equals-ignore-case": 5}}]), "detail.a.0.suffix.equals-ignore-case", "must be a string, got 5"),
    (detail(a=[{"equals-ignore-case": ["x"]}]), "detail.a.0.equals-ignore-case", "must be a string, got a list"),
    (detail(a=[]), "detail.a", "an empty list is refused"),
    (detail(), "detail", "an empty object is refused"),
    (detail(a="x"), "detail.a", "must be an object of nested fields or a list of values and matchers, got 'x'"),
    (detail(a=[["nested"]]), "detail.a.0", "must be a string, number, true, false, null or a matcher object, got a list"),
    (
        {"time": [{"prefix": datetime.date(2017, 10, 2)}]},
        "time.0.prefix",
        "got 2017-10-02 (a date: quote it to make it a string)",
    ),
    (detail(a=[{"wildcard": "a**b"}]), "detail.a.0.wildcard", "consecutive wildcard characters at position 1"),
    (detail(a=[{"wildcard": "a\\b"}]), "detail.a.0.wildcard", "may only escape * or \\"),
    (detail(a=[{"wildcard": "ends\\"}]), "detail.a.0.wildcard", "'\\' at position 4"),
    (detail(a=[{"exists": "true"}]), "detail.a.0.exists", "takes true or false, got 'true' (a string)"),
    (detail(a=[{"numeric": [">", 5, "<", 1]}]), "detail.a.0.numeric", "lower bound 5 must be below its upper bound 1"),
    (detail(a=[{"numeric": [">", 5, "<=", 5]}]), "detail.a.0.numeric", "lower bound 5 must be below"),
    (detail(a=[{"numeric": ["=>", 5]}]), "detail.a.0.numeric.0", "operator '=>' is not one of =, <, <=, >, >="),
    (detail(a=[{"numeric": ["<", 5, ">", 1]}]), "detail.a.0.numeric.0", "operator '<' is not one of >, >= here"),
    (detail(a=[{"numeric": [">", 1, "=", 5]}]), "detail.a.0.numeric.2", "operator '=' is not one of <, <= here"),
    (detail(a=[{"numeric": [">", "5"]}]), "detail.a.0.numeric.1", "must be a number, got '5' (a string)"),
    (detail(a=[{"numeric": [">", True]}]), "detail.a.0.numeric.1", "must be a number, got true (a boolean)"),
    (detail(a=[{"numeric": [">", 0, "<"]}]), "detail.a.0.numeric", 'a range such as [">", 0, "<=", 5]'),
    (detail(a=[{"numeric": 5}]), "detail.a.0.numeric", "takes a comparison"),
    (detail(a=[{"numeric": [">", 2**53 + 1]}]), "detail.a.0.numeric.1", "not exactly a double (nearest: 9007199254740992.0)"),
    (detail(a=[{"numeric": ["<", float("inf")]}]), "detail.a.0.numeric.1", "inf is not a finite number"),
    (detail(a=[{"cidr": "10.0.0.0"}]), "detail.a.0.cidr", "needs one '/' between the address and the mask bits"),
    (detail(a=[{"cidr": "10.0.0.0/x"}]), "detail.a.0.cidr", "mask bits 'x' must be a whole number"),
    (detail(a=[{"cidr": "10.0.0.300/8"}]), "detail.a.0.cidr", "'10.0.0.300' is not an IPv4 or IPv6 address"),
    (detail(a=[{"cidr": "10.0.0.1/32"}]), "detail.a.0.cidr", "mask bits must be at most 31; to match the one address"),
    (detail(a=[{"cidr": "::ffff:10.0.0.1/120"}]), "detail.a.0.cidr", "IPv6 addresses as hex digits and colons only"),
    (detail(a=[{"cidr": 10}]), "detail.a.0.cidr", "takes an IP address range such as 10.0.0.0/24, got 10"),
    (detail(a=[{"anything-but": ["a", 1]}]), "detail.a.0.anything-but", "strings only or of numbers only, not both"),
    (detail(a=[{"anything-but": [True]}]), "detail.a.0.anything-but.0", "must be a number, got true"),
    (detail(a=[{"anything-but": []}]), "detail.a.0.anything-but", "an empty list excludes nothing"),
    (detail(a=[{"anything-but": None}]), "detail.a.0.anything-but", "takes a string, a number, a list of either"),
    (detail(a=[{"anything-but": {"numeric": [">", 1]}}]), "detail.a.0.anything-but", "(found: numeric)"),
    (detail(a=[{"anything-but": {"prefix": "a", "suffix": "b"}}]), "detail.a.0.anything-but", "(found: prefix, suffix)"),
    (detail(a=[{"anything-but": {"prefix": ""}}]), "detail.a.0.anything-but.prefix", "an empty prefix is refused"),
    (detail(a=[{"anything-but": {"suffix": ["x", 3]}}]), "detail.a.0.anything-but.suffix.1", "must be a string, got 3"),
    (detail(a=[{"anything-but": {"wildcard": ["ok*", "no**"]}}]), "detail.a.0.anything-but.wildcard.1", "consecutive"),
    (detail(a=[{"anything-but": {"prefix": {"equals-ignore-case": "x"}}}]), "detail.a.0.anything-but.prefix", "got an object"),
    (detail(**{"$or": [{"a": ["x"]}]}), "detail.$or", "at least two objects"),
    (detail(**{"$or": {"a": ["x"]}}), "detail.$or", "at least two objects"),
    (detail(**{"$or": [{"a": ["x"]}, ["b"]]}), "detail.$or.1", "each $or branch must be an object of fields, got a list"),
    (detail(**{"$or": [{"a": ["x"]}, {"prefix": ["y"]}]}), "detail.$or.1.prefix", "refuses as a field name inside $or"),
    (detail(**{"$or": [{"a": ["x"]}, {"b": {"numeric": ["1"]}}]}), "detail.$or.1.b.numeric", "inside $or"),
    ({"source": ["a"], "detail_type": ["b"]}, "", "unknown event field(s) detail_type (fields: source, detail-type,"),
    ({"$or": [{"source": ["a"]}, {"detail_type": ["b"]}]}, "$or.1", "unknown event field(s) detail_type"),
    ({"source": "aws.ec2"}, "source", "must be a list of values or matchers"),
    ({}, "", "must not be empty"),
    (detail(a=["x" * 4100]), "", "characters as compact JSON; EventBridge takes at most 4096 per rule"),
]


@pytest.mark.parametrize(
    ("pattern", "field", "fragment"), REFUSED, ids=[f"{field or 'top'}-{n}" for n, (_, field, _) in enumerate(REFUSED)]
)
def test_what_eventbridge_refuses_is_named_by_field(pattern, field, fragment) -> None:
    # Given a pattern EventBridge would refuse (or match in a way it does not document)
    # When checked / Then the first problem names the field below event_pattern and says what belongs there
    with pytest.raises(NestedFieldError) as caught:
        check_event_pattern(pattern)
    assert caught.value.field == field
    assert fragment in caught.value.message


def test_a_misspelt_matcher_is_one_line_naming_the_manifest_and_field(temp_repo) -> None:
    # Given a manifest matching an alarm state with a misspelt wildcard matcher
    trigger = {
        "bus": "default",
        "event_pattern": {"source": ["aws.cloudwatch"], "detail": {"state": {"value": [{"wildcrd": "AL*"}]}}},
    }
    path = temp_repo.add_automation(temp_repo.manifest_data(trigger=trigger))

    # When the catalog is loaded
    with pytest.raises(KeelConfigError) as caught:
        temp_repo.load_catalog()

    # Then one line names the file, the field path to the matcher, the matchers and the likely one
    assert str(caught.value) == (
        f"{path}: trigger.event_pattern.detail.state.value.0: unknown matcher 'wildcrd' (matchers: prefix, suffix, "
        "equals-ignore-case, wildcard, anything-but, numeric, exists, cidr); did you mean 'wildcard'?"
    )


def test_a_top_level_matcher_loads_with_the_pattern_as_written(temp_repo) -> None:
    # Given a manifest whose source and resources use matchers (CDK's typed EventPattern wants strings there)
    pattern = {"source": [{"prefix": "app."}], "resources": [{"suffix": "-prod"}], "detail-type": ["Order Placed"]}
    temp_repo.add_automation(temp_repo.manifest_data(trigger={"bus": "keel", "event_pattern": pattern}))

    # When the catalog is loaded / Then the manifest keeps the pattern exactly
    automation = next(a for a in temp_repo.load_catalog().automations if a.name == "sample_automation")
    assert automation.manifest.trigger.event_pattern == pattern
