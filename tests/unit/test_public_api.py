"""``flowengine``'s public API is exactly the names it promises, and they import."""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import inspect
import pkgutil
from typing import Any

import pytest

import flowengine
from flowengine.errors import FlowEngineError

PUBLIC = [
    "AuthenticationFailed",
    "ConcurrentUpdate",
    "ConfigurationError",
    "DefinitionError",
    "DeliveryError",
    "DuplicateKey",
    "DurationSyntaxError",
    "Effect",
    "Engine",
    "ExpressionError",
    "FlowEngineError",
    "GuardRefused",
    "HistoryEntry",
    "IdempotencyConflict",
    "Instance",
    "InstanceView",
    "InvalidData",
    "Issue",
    "NotFound",
    "Notification",
    "OutboxItem",
    "PermissionDenied",
    "Person",
    "RoleGrant",
    "StateWaiting",
    "StorageError",
    "Timer",
    "TooManyAttempts",
    "TransitionNotAllowed",
    "UnknownFlow",
    "UnknownInstance",
    "UnknownPerson",
    "WorkItem",
    "Worker",
    "YamlLoadError",
    "__version__",
]


class TestPublicApi:
    def test_all_is_exactly_the_promised_names(self) -> None:
        """``__all__`` is the sorted public API: adding or dropping a name is a decision."""
        assert flowengine.__all__ == PUBLIC

    @pytest.mark.parametrize("name", PUBLIC)
    def test_every_public_name_imports(self, name: str) -> None:
        """``from flowengine import NAME`` works for every name in ``__all__``."""
        namespace: dict[str, object] = {}
        exec(f"from flowengine import {name}", namespace)  # noqa: S102 - the statement under test
        assert namespace[name] is getattr(flowengine, name)

    @pytest.mark.parametrize("name", [n for n in PUBLIC if n[0].isupper()])
    def test_a_public_class_is_the_one_its_module_defines(self, name: str) -> None:
        """The exported object is the defining module's class, not a copy or a stand-in."""
        value = getattr(flowengine, name)
        assert inspect.isclass(value)
        assert getattr(importlib.import_module(value.__module__), name) is value

    def test_every_library_error_is_exported(self) -> None:
        """Each error a library caller can meet is importable from ``flowengine``."""
        for info in pkgutil.walk_packages(flowengine.__path__, "flowengine."):
            if not info.name.startswith(("flowengine.migrations", "flowengine.__main__")):
                importlib.import_module(info.name)  # so every error class is defined
        pending, errors = [FlowEngineError], set()
        while pending:
            for sub in pending.pop().__subclasses__():
                pending.append(sub)
                if not sub.__module__.startswith(("flowengine.web", "flowengine.cli")):
                    errors.add(sub.__name__)
        assert errors - set(PUBLIC) == set()

    def test_an_unknown_name_is_an_attribute_error(self) -> None:
        """A misspelt name fails as Python's own would, naming it."""
        with pytest.raises(AttributeError, match="Engin'"):
            _ = flowengine.Engin  # type: ignore[attr-defined]

    def test_importing_the_package_imports_nothing_heavy(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``import flowengine`` stays cheap: the engine, storage and CLI load on first use."""
        imported: list[str] = []
        real_import = builtins.__import__

        def recording(name: str, *args: Any, **kwargs: Any) -> Any:
            importer = args[0] if args else kwargs.get("globals")
            if importer and importer.get("__name__") == "flowengine_probe":
                imported.append(name)
            return real_import(name, *args, **kwargs)

        # a fresh copy of the package's __init__, run under another name, so the
        # modules this test session already loaded do not hide what it imports
        spec = importlib.util.spec_from_file_location("flowengine_probe", flowengine.__file__)
        assert spec is not None and spec.loader is not None
        probe = importlib.util.module_from_spec(spec)
        monkeypatch.setattr(builtins, "__import__", recording)
        spec.loader.exec_module(probe)
        monkeypatch.undo()
        assert sorted(set(imported)) == ["__future__", "importlib"]
        assert probe.__all__ == PUBLIC
