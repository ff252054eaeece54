"""The layout shows the architecture: protocol knowledge spelled only in the protocol package, private modules with
``__all__``, modules readable in one sitting, the layer rules (import-linter contracts) kept and able to break,
routes and spec in step."""

from __future__ import annotations

import ast
import pathlib
import pkgutil
import shutil
import subprocess
import sys
import tomllib
import typing

import hypothesis
import pytest

import nemo_contract
from mock_server import create_app
from nemo_contract.protocol import Code, fields
from nemo_contract.protocol.specs import ADMIN_SPEC, API_SPEC, load_spec

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("nemo_contract", "mock_server")
#: The most lines a module may have (most have under 300).
MAX_LINES = 500


def _files() -> dict[str, pathlib.Path]:
    """Every module of the two packages, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts).removesuffix(".__init__")] = path
    return found


def _trees() -> dict[str, ast.Module]:
    return {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in _files().items()}


def test_every_module_declares_all() -> None:
    for name, tree in _trees().items():
        if name.endswith("__main__"):
            continue
        targets = [
            t.id
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)
        ]
        assert "__all__" in targets, name


def test_every_module_is_readable_in_one_sitting() -> None:
    long = {name: n for name, path in _files().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_protocol_codes_are_spelled_only_in_the_protocol_package() -> None:
    codes = {int(c) for c in Code if int(c) >= 1000}
    for name, tree in _trees().items():
        if name.startswith("nemo_contract.protocol"):
            continue
        literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, int)}
        assert not literals & codes, f"{name} spells {sorted(literals & codes)}; use Code"


#: Where a string that is also a protocol field name is something else, by module: the keys of ASGI messages and
#: scopes ("type", "status", "state"), of the OpenAPI documents read to build validators, of a scenario file
#: ("name"), of the journal's query ("token": the bearer token to select by), of fault rules (``FaultRuleFields``:
#: mypy checks those keys), of the routing table ("credits", "state": where a message goes) and of a file kind.
NOT_FIELDS: dict[str, set[str]] = {
    "nemo_contract.testing._machine": {"text", "code"},
    "nemo_contract.testing.strategies": {"credits", "state", "code"},
    "mock_server._journal": {"token"},
    "nemo_contract.audit._scenarios": {"name"},
    "nemo_contract.audit._watch": {"type", "status"},
    "nemo_contract.recording._proxy": {"type", "status"},
    "nemo_contract.recording._replay": {"type", "status"},
    "mock_server._envelope": {"type", "status"},
    "mock_server._middleware": {"type", "status"},
    "mock_server._validation": {"type", "name", "content"},
    "nemo_contract.testing._transport": {"type", "status", "state"},
    "nemo_contract.verify._schemathesis": {"content"},
}


def _field_literals(tree: ast.Module) -> set[tuple[int, str]]:
    """(line, text) of every string used as a JSON field: a subscript, a dict key, ``.get/.pop/.setdefault``'s
    key, or the left side of ``in``, when it is one of the protocol's field names."""
    names = {getattr(fields, name) for name in fields.__all__}
    found = set()
    for node in ast.walk(tree):
        keys: list[ast.expr | None] = []
        if isinstance(node, ast.Subscript):
            keys.append(node.slice)
        elif isinstance(node, ast.Dict):
            keys.extend(node.keys)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            if node.func.attr in ("get", "pop", "setdefault"):
                keys.append(node.args[0])
        elif isinstance(node, ast.Compare) and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops):
            keys.append(node.left)
        for key in keys:
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value in names:
                found.add((key.lineno, key.value))
    return found


def test_protocol_field_names_are_spelled_only_in_the_protocol_package() -> None:
    """``"sg"``, ``"session_id"``, ``"outputUrl"``...: code on either side reads and writes fields through
    ``nemo_contract.protocol.fields``, so a field can only be spelled one way."""
    stray = {}
    for name, tree in _trees().items():
        if name.startswith("nemo_contract.protocol"):
            continue
        found = {(line, text) for line, text in _field_literals(tree) if text not in NOT_FIELDS.get(name, set())}
        if found:
            stray[name] = sorted(found)
    assert not stray, stray


def test_the_field_check_finds_a_stray_field() -> None:
    """The check above can fail: a module that reads a draft with string keys is caught, in every position."""
    tree = ast.parse('seg["st"]; {"outputUrl": 1}; body.get("session_id"); "sg" in track; open(p, "w")')
    assert {text for _, text in _field_literals(tree)} == {"st", "outputUrl", "session_id", "sg"}


def test_the_root_package_exports_a_complete_sorted_public_api() -> None:
    """As httpx's test_exported_members: ``__all__`` is sorted, and names exactly what the lazy table loads and
    what type checkers see (the three spellings of the root)."""
    exported = list(nemo_contract.__all__)
    assert exported == sorted(exported, key=str.casefold)
    assert set(exported) == {"__version__", *nemo_contract._LOCATIONS}
    tree = ast.parse((ROOT / "nemo_contract" / "__init__.py").read_text())
    checked = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING"
        for inner in node.body
        if isinstance(inner, ast.ImportFrom)
        for alias in inner.names
    }
    assert checked == set(nemo_contract._LOCATIONS)
    for name in exported:
        assert getattr(nemo_contract, name) is not None


PUBLIC_PACKAGES = {"audit", "protocol", "recording", "testing", "verify"}


def test_only_the_named_wings_are_public() -> None:
    """Every other module of the package is private (a leading underscore), as httpx's are."""
    public = {m.name for m in pkgutil.iter_modules(nemo_contract.__path__) if not m.name.startswith("_")}
    assert public == PUBLIC_PACKAGES


def _contracts() -> list[dict[str, typing.Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts: list[dict[str, typing.Any]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def test_the_client_contract_names_every_module_of_the_client() -> None:
    """The contract that keeps the client off the emulator lists the client's modules one by one (import-linter
    has no "all but"): every private top-level module but the command line must be on it, and on the toolkit's."""
    modules = {
        f"nemo_contract.{path.stem}"
        for path in (ROOT / "nemo_contract").glob("_*.py")
        if not path.stem.startswith("__")
    }
    (client,) = [c for c in _contracts() if c["name"].startswith("The reference client imports")]
    assert set(client["source_modules"]) == modules
    # And the toolkit may use the client only through the package root: every one of them is forbidden to it.
    (root_only,) = [c for c in _contracts() if "reference client through the package root" in c["name"]]
    assert set(root_only["forbidden_modules"]) == modules | {"nemo_contract._cli"}


def _lint_imports(tree: pathlib.Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "lint-imports"), "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The two packages and pyproject.toml, copied, so a test can break one import and run the contracts."""
    folder = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, folder / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", folder / "pyproject.toml")
    return folder


#: (contract, module to break, the import that breaks it): each layer rule must be able to fail.
BREAKS = [
    ("No two modules", "nemo_contract/_text.py", "from . import _gui"),
    ("The protocol imports nothing else", "nemo_contract/protocol/fields.py", "import httpx"),
    ("The protocol imports nothing else", "nemo_contract/protocol/specs.py", "from nemo_contract import _text"),
    ("The emulator imports only the protocol", "mock_server/_files.py", "from nemo_contract import _text"),
    ("The reference client imports neither", "nemo_contract/_summary.py", "import mock_server"),
    ("The reference client imports neither", "nemo_contract/_gui.py", "from nemo_contract import testing"),
    ("The toolkit reaches the emulator", "nemo_contract/testing/_transport.py", "from mock_server import _app"),
    ("The toolkit reaches the reference client", "nemo_contract/testing/_adapter.py", "from .. import _core"),
    ("verify checks servers over HTTP", "nemo_contract/verify/_http.py", "import mock_server"),
    ("The audit reaches the emulator", "nemo_contract/audit/_facts.py", "from mock_server import _journal"),
    ("Recording and replay never import", "nemo_contract/recording/_match.py", "from nemo_contract import testing"),
    ("The commands reach the emulator", "nemo_contract/_cli/_audit.py", "from mock_server import _journal"),
]


def test_every_layer_rule_has_an_import_that_breaks_it() -> None:
    names = [c["name"] for c in _contracts()]
    assert all(any(name.startswith(contract) for contract, _, _ in BREAKS) for name in names), names


def test_the_layer_rules_hold() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize(("contract", "module", "line"), BREAKS, ids=[b[0] + ": " + b[1] for b in BREAKS])
def test_each_layer_rule_breaks_on_a_forbidden_import(
    tree_copy: pathlib.Path, contract: str, module: str, line: str
) -> None:
    path = tree_copy / module
    original = path.read_text()
    path.write_text(original + f"\n{line}  # noqa\n")
    try:
        result = _lint_imports(tree_copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    broken = [row for row in result.stdout.splitlines() if " BROKEN" in row]
    assert [row for row in broken if row.startswith(contract)], result.stdout[-2000:]


def test_the_apps_routes_are_exactly_the_specs_paths() -> None:
    app = create_app()
    try:
        routes = {(method, route.path) for route in app.routes for method in route.methods or () if method != "HEAD"}  # type: ignore[attr-defined]
    finally:
        app.state.emulator.close()
    api = load_spec(API_SPEC)["paths"]
    admin = load_spec(ADMIN_SPEC)["paths"]
    documented = {(m.upper(), p) for doc in (api, admin) for p, ops in doc.items() for m in ops if m != "parameters"}
    assert routes == documented


def test_a_failing_property_test_prints_how_to_reproduce_it() -> None:
    """tests/conftest.py loads a Hypothesis profile that prints the failing example's @reproduce_failure line
    (named, since Hypothesis's own "ci" profile prints it too)."""
    assert hypothesis.settings.get_current_profile_name() == "nemo-contract"
    assert hypothesis.settings.get_profile("nemo-contract").print_blob
