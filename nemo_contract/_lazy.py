"""Names that load on first use (PEP 562): the module ``__getattr__`` and ``__dir__`` of a package's root.

``nemo_contract``, ``nemo_contract.testing`` and ``nemo_contract.recording`` load their public names this way, so
that importing them (the emulator imports the protocol, pytest the plugins, in every run) costs nothing until a
name is used. Each keeps its own table of where its names live; this module only reads it.
"""

from __future__ import annotations

import importlib
import typing

__all__ = ["lazy_names"]


def lazy_names(
    namespace: dict[str, typing.Any], locations: typing.Mapping[str, str]
) -> tuple[typing.Callable[[str], typing.Any], typing.Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of the package whose ``globals()`` is ``namespace``.

    ``locations`` maps each public name to its module, relative to the package; a name is imported once and then
    kept in ``namespace``. ``__dir__`` lists the package's ``__all__`` with whatever is already loaded.
    """
    package: str = namespace["__name__"]

    def __getattr__(name: str) -> typing.Any:
        module = locations.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *namespace["__all__"]})

    return __getattr__, __dir__
