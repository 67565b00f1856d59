"""The report page's charts: pygal used without leaving its import hook behind."""

from __future__ import annotations

import importlib.util
import re
import sys
import warnings

from keel.ops.report_page import chart


def test_a_chart_leaves_no_import_hook_without_find_spec_behind() -> None:
    # Given a chart drawn (pygal imported)
    svg = chart("Runs", ["d1", "d2"], {"a_long_automation_name_that_would_be_cut": [1, 2]})

    # Then every import finder left has find_spec, so a failed import later warns about nothing
    assert all(hasattr(finder, "find_spec") for finder in sys.meta_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert importlib.util.find_spec("keel_no_such_module") is None
    # And the legend names the automation in full
    assert re.findall(r'class="legend reactive activate-serie">.*?<text [^>]*>([^<]+)</text>', svg, re.S) == [
        "a_long_automation_name_that_would_be_cut"
    ]
