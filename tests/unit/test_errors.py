"""The error tree drawn in ``errors.py``'s docstring is the tree of the classes."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import flowengine
from flowengine import errors
from flowengine.errors import FlowEngineError

# Exceptions that never reach a caller, so they need no place in the tree.
CONTROL_FLOW = {
    # runtime.py: a step that matched no transition, caught inside the runtime
    "flowengine.runtime.machine._NoTransition",
    # web/pages.py: a page's "send them to /login" signal, answered by a redirect
    "flowengine.web.pages.LoginRequired",
}


def _all_modules() -> list[str]:
    names = ["flowengine"]
    for info in pkgutil.walk_packages(flowengine.__path__, "flowengine."):
        if ".migrations" in info.name or info.name.endswith("__main__"):
            continue  # Alembic revisions run only under Alembic; __main__ runs the CLI
        names.append(info.name)
    for name in names:
        importlib.import_module(name)
    return names


def _subclasses(root: type[BaseException]) -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    pending = [root]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub not in found:
                found.append(sub)
                pending.append(sub)
    return found


def _drawn_tree() -> dict[str, str | None]:
    """Class name → parent name, read from the docstring's box drawing."""
    doc = errors.__doc__ or ""
    lines = doc.splitlines()
    root_line = next(i for i, line in enumerate(lines) if line.strip() == "FlowEngineError")
    root_column = lines[root_line].index("FlowEngineError")
    parents: dict[str, str | None] = {"FlowEngineError": None}
    path = ["FlowEngineError"]
    for line in lines[root_line + 1 :]:
        found = re.match(r"^([ │├└─]*)([A-Z]\w*)", line)
        if not found or not found.group(1).strip():
            break  # the drawing ends at the first line without branches
        depth, rest = divmod(len(found.group(1)) - root_column, 4)
        assert rest == 0 and depth >= 1, f"misaligned line in the error tree: {line!r}"
        name = found.group(2)
        assert name not in parents, f"{name} is drawn twice"
        assert depth <= len(path), f"{name} is drawn deeper than under a parent"
        del path[depth:]
        parents[name] = path[-1]
        path.append(name)
    return parents


def _tree_parent(cls: type[BaseException]) -> str:
    bases = [b for b in cls.__bases__ if issubclass(b, FlowEngineError)]
    assert len(bases) == 1, f"{cls.__name__} has more than one flowengine base"
    return bases[0].__name__


class TestErrorTree:
    def test_every_error_class_is_drawn_under_its_parent(self) -> None:
        """Each FlowEngineError subclass in any flowengine module is in the tree, under its base."""
        _all_modules()
        drawn = _drawn_tree()
        classes = _subclasses(FlowEngineError)
        assert len(classes) >= 20  # the walk saw every module, not just errors.py
        wrong = {
            cls.__name__: (drawn.get(cls.__name__, "missing"), _tree_parent(cls))
            for cls in classes
            if drawn.get(cls.__name__, "missing") != _tree_parent(cls)
        }
        assert wrong == {}, "drawn parent vs real parent"

    def test_every_drawn_name_is_a_class(self) -> None:
        """The tree draws no class that does not exist (a removed or renamed error)."""
        _all_modules()
        real = {cls.__name__ for cls in _subclasses(FlowEngineError)} | {"FlowEngineError"}
        assert set(_drawn_tree()) - real == set()

    def test_error_names_are_unique(self) -> None:
        """No two error classes share a name, so the tree's names are unambiguous."""
        _all_modules()
        names = [cls.__name__ for cls in _subclasses(FlowEngineError)]
        assert sorted(names) == sorted(set(names))

    def test_every_exception_defined_in_flowengine_is_a_flowengine_error(self) -> None:
        """An exception flowengine defines is in the tree, unless it never leaves its module."""
        outside = []
        for name in _all_modules():
            module = importlib.import_module(name)
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ != name or not issubclass(cls, BaseException):
                    continue
                qualified = f"{name}.{cls.__qualname__}"
                if not issubclass(cls, FlowEngineError) and qualified not in CONTROL_FLOW:
                    outside.append(qualified)
        assert outside == []


class TestKeptBases:
    def test_duration_syntax_error_is_still_a_value_error(self) -> None:
        """Callers that caught ValueError for a bad duration still catch it."""
        from flowengine.durations import parse_duration

        with pytest.raises(ValueError, match="3d"):
            parse_duration("three days")

    def test_yaml_load_error_is_a_definition_error_with_its_issue(self) -> None:
        """A YAML failure reports like every definition error: one issue with its position."""
        from flowengine.loader import YamlLoadError, load_text

        with pytest.raises(errors.DefinitionError) as caught:
            load_text("a: [1, 2\n", "akis.yaml")
        assert isinstance(caught.value, YamlLoadError)
        assert caught.value.issues == [caught.value.issue]
        assert str(caught.value).startswith("akis.yaml:")

    def test_delivery_error_is_importable_from_connectors(self) -> None:
        """Connectors written against ``flowengine.connectors.DeliveryError`` keep working."""
        from flowengine.connectors import DeliveryError

        assert DeliveryError is errors.DeliveryError
