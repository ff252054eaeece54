"""The package layout shows the architecture: protocol knowledge in one module, private modules with
``__all__``, no import cycles, the client never importing the emulator, routes and spec in step."""

from __future__ import annotations

import ast
import pathlib

import hypothesis

import nemo_contract
from mock_server import create_app
from nemo_contract.protocol import Code
from nemo_contract.protocol.specs import ADMIN_SPEC, API_SPEC, load_spec

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("nemo_contract", "mock_server")


def _modules() -> dict[str, ast.Module]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).glob("*.py")):
            name = f"{package}.{path.stem}".removesuffix(".__init__")
            found[name] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def _imports(name: str, tree: ast.Module) -> set[str]:
    package = name.split(".")[0]
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package if node.module is None else f"{package}.{node.module}"
                imported |= {base} | {f"{base}.{alias.name}" for alias in node.names}
            elif node.module:
                imported |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    return {m for m in imported if m.split(".")[0] in PACKAGES}


def test_every_private_module_declares_all() -> None:
    for name, tree in _modules().items():
        if name.rsplit(".", 1)[-1].startswith("__"):
            continue
        targets = [
            t.id
            for node in tree.body
            if isinstance(node, ast.Assign | ast.AnnAssign)
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)
        ]
        assert "__all__" in targets, name


def test_the_client_never_imports_the_emulator() -> None:
    for name, tree in _modules().items():
        if name.startswith("nemo_contract"):
            assert not {m for m in _imports(name, tree) if m.startswith("mock_server")}, name


def test_no_import_cycles_between_modules() -> None:
    modules = _modules()
    graph = {name: {m for m in _imports(name, tree) if m in modules and m != name} for name, tree in modules.items()}
    for package in PACKAGES:  # a package's __init__ re-exports; only module-to-module edges can cycle
        graph[package] = set()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            assert state.get(nxt) != 1, " -> ".join([*trail, node, nxt])
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])


def test_protocol_codes_are_spelled_only_in_the_protocol_module() -> None:
    codes = {int(c) for c in Code if int(c) >= 1000}
    for name, tree in _modules().items():
        if name == "nemo_contract.protocol":
            continue
        literals = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, int)}
        assert not literals & codes, f"{name} spells {sorted(literals & codes)}; use Code"


def test_the_root_package_exports_a_sorted_public_api() -> None:
    exported = list(nemo_contract.__all__)
    assert exported == sorted(exported, key=str.casefold)
    for name in exported:
        assert getattr(nemo_contract, name) is not None


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
