"""``nemo_contract.testing``: its names agree in the three places they are spelled, and load on first use only."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import nemo_contract.testing as testing

PACKAGE = pathlib.Path(testing.__file__).parent
HEAVY = ("starlette", "uvicorn", "httpx", "hypothesis", "respx", "mock_server")


def _loaded_after(statement: str) -> list[str]:
    probe = f"import sys; {statement}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    return [name for name in done.stdout.split() if name in HEAVY]


def test_the_names_are_spelled_alike_in_the_table_for_type_checkers_and_all() -> None:
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    checked = next(node for node in tree.body if isinstance(node, ast.If))
    typed = {
        alias.asname or alias.name for node in checked.body if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    assert typed == set(testing._LOCATIONS) == set(testing.__all__)
    for name in testing.__all__:
        assert getattr(testing, name) is not None


def test_importing_the_package_loads_nothing_heavy() -> None:
    assert _loaded_after("import nemo_contract.testing") == []


def test_the_emulator_loads_with_an_emulator_and_hypothesis_with_the_machine() -> None:
    assert _loaded_after("from nemo_contract.testing import Emulated") == ["httpx"]
    assert set(_loaded_after("from nemo_contract.testing import Emulated; Emulated().close()")) >= {
        "starlette",
        "mock_server",
    }
    assert "starlette" not in _loaded_after("from nemo_contract.testing import strategies")
    assert "hypothesis" in _loaded_after("from nemo_contract.testing import ClientMachine")


def test_every_module_reads_in_one_sitting() -> None:
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) < 500, path.name
