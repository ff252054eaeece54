"""The README's "Testing your integration" examples run as written, as a user's test modules."""

from __future__ import annotations

import pathlib
import re

import pytest

from ...helpers import INNER_PYTEST
from .test_plugin import CONFTEST

README = (pathlib.Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Testing your integration", 1)[1].split("### Checking a server", 1)[0]
EXAMPLES = re.findall(r"```python\n(.*?)```", SECTION, re.S)


def test_the_section_has_a_pytest_and_a_state_machine_example_and_leaves_verify_to_its_work() -> None:
    assert len(EXAMPLES) == 2
    assert "nemo_routes" in EXAMPLES[0] and "ClientMachine" in EXAMPLES[1]
    assert "### Checking a server: `nemo-contract verify`" in README


@pytest.mark.parametrize("example", EXAMPLES, ids=["fixtures", "state machine"])
def test_each_example_passes(pytester: pytest.Pytester, example: str) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_readme=example)
    result = pytester.runpytest(*INNER_PYTEST)
    result.assert_outcomes(passed=1)
