"""Every collected test is in exactly one tier (unit, data, process), before ``-m`` selects; the
tier is inferred from fixtures and markers, and an explicit marker wins."""

from __future__ import annotations

import pytest

from tests.conftest import COLLECTED, TIERS


def test_every_collected_test_has_exactly_one_tier(request: pytest.FixtureRequest) -> None:
    collected = request.config.stash[COLLECTED]
    assert request.node.nodeid in collected
    untiered = {node: tiers for node, tiers in collected.items() if len(tiers) != 1 or not tiers <= set(TIERS)}
    assert untiered == {}


CASES = """
import pytest

def test_pure():
    assert True

def test_reads_data(data_dir):
    pass

def test_warehouse(market):
    pass

@pytest.mark.flow
def test_a_flow():
    pass

def test_harness(prefect_harness):
    pass

@pytest.mark.process
def test_spawns(data_dir):
    pass

@pytest.mark.unit
def test_declared_unit(market):
    pass
"""


def test_tiers_are_inferred_from_fixtures_and_markers(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("from tests.conftest import *  # noqa: F403\n")
    pytester.makepyfile(test_cases=CASES)
    items, _ = pytester.inline_genitems()
    tiers = {i.name: sorted(m.name for m in i.iter_markers() if m.name in TIERS) for i in items}
    assert tiers == {
        "test_pure": ["unit"],
        "test_reads_data": ["data"],
        "test_warehouse": ["data"],  # market → signal_warehouse → loaded_warehouse → data_dir
        "test_a_flow": ["process"],
        "test_harness": ["process"],
        "test_spawns": ["process"],  # explicit wins over the data fixture
        "test_declared_unit": ["unit"],
    }


def test_two_explicit_tiers_are_refused(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("from tests.conftest import *  # noqa: F403\n")
    pytester.makepyfile(
        test_two="import pytest\npytestmark = pytest.mark.data\n\n@pytest.mark.unit\ndef test_x():\n    pass\n"
    )
    res = pytester.runpytest_inprocess("--collect-only")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert "test_two.py::test_x is marked with several tiers ['data', 'unit']: keep one" in res.stderr.str()
