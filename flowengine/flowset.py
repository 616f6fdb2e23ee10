"""A set of flow files and their organisation file, loaded and validated together.

Owns finding the files (folders or single files), running the loader, the
schema and the semantic checks on each, and the checks across files (unique
ids, subflow cycles). :func:`validate_paths` never raises for a bad flow: it
returns a :class:`ValidationReport` listing every issue.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flowengine import schema
from flowengine.checks import FlowChecker, ParsedFlow, subflow_cycles
from flowengine.documents import parse_document
from flowengine.errors import DefinitionError, Issue
from flowengine.loader import LoadedDocument, YamlLoadError, load_file

ORGANIZATION_FILE = "organization.yaml"
FLOW_SUFFIXES = (".yaml", ".yml")


@dataclass
class ValidationReport:
    """Every issue of a flow set, with the flows and organisation that parsed."""

    issues: list[Issue] = field(default_factory=list)
    flows: dict[str, ParsedFlow] = field(default_factory=dict)
    organization: schema.OrganizationDoc | None = None
    files: list[Path] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def raise_for_errors(self) -> None:
        if self.errors:
            raise DefinitionError(self.issues)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def discover(paths: Sequence[Path]) -> tuple[list[Path], Path | None, list[Issue]]:
    """Return (flow files, organisation file, issues) for files and folders given."""
    files: list[Path] = []
    organization: Path | None = None
    issues: list[Issue] = []
    for given in paths:
        if given.is_dir():
            found = sorted(p for p in given.rglob("*") if p.suffix in FLOW_SUFFIXES)
            if not found:
                issues.append(
                    Issue(_display(given), 1, 1, "error", "folder holds no .yaml files", "empty")
                )
        elif given.is_file():
            found = [given]
        else:
            issues.append(
                Issue(_display(given), 1, 1, "error", "no such file or folder", "not-found")
            )
            continue
        for path in found:
            if path.name == ORGANIZATION_FILE:
                organization = organization or path
            elif path not in files:
                files.append(path)
    if organization is None:
        for path in files:
            candidate = path.parent / ORGANIZATION_FILE
            if candidate.is_file():
                organization = candidate
                break
    return files, organization, issues


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while the documents are built.

    Loading builds hundreds of thousands of small dicts, lists and tuples that
    all stay alive until the report is done; each automatic collection walks
    them all again, which cost 40 % of validating 200 flows
    (benchmarks/bench_validation.py). Nothing built here needs the collector
    before the end; it resumes, as it was, when validation returns.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def validate_paths(paths: Sequence[Path]) -> ValidationReport:
    """Load and check every flow under ``paths`` together with its organisation file."""
    with _collector_paused():
        return _validate_paths(paths)


def _validate_paths(paths: Sequence[Path]) -> ValidationReport:
    files, org_path, issues = discover(paths)
    report = ValidationReport(issues=issues, files=list(files))
    if org_path is not None:
        report.files.insert(0, org_path)
        loaded_org = _load(org_path, report)
        if loaded_org is not None:
            org, org_issues = parse_document(schema.OrganizationDoc, loaded_org)
            report.issues += org_issues
            report.organization = org
    elif files:
        report.issues.append(
            Issue(
                _display(files[0].parent / ORGANIZATION_FILE),
                1,
                1,
                "error",
                "no organisation file; create flows/organization.yaml with "
                "directorates, external_bodies and roles",
                "organization",
            )
        )
    stems: dict[str, Path] = {}
    for path in files:
        loaded = _load(path, report)
        if loaded is None:
            continue
        doc, doc_issues = parse_document(schema.FlowDoc, loaded)
        report.issues += doc_issues
        if doc is None:
            continue
        if doc.flow in report.flows:
            first = report.flows[doc.flow].loaded.path
            report.issues.append(
                loaded.issue(
                    ("flow",), f"flow id '{doc.flow}' is also used by {first}", code="dup-flow"
                )
            )
            continue
        report.flows[doc.flow] = ParsedFlow(doc, loaded)
        stems[doc.flow] = path
    for fid, parsed in report.flows.items():
        checker = FlowChecker(parsed, report.organization, report.flows, stems[fid].stem)
        report.issues += checker.run()
    report.issues += subflow_cycles(report.flows)
    report.issues = sorted(set(report.issues))
    return report


def _load(path: Path, report: ValidationReport) -> LoadedDocument | None:
    try:
        loaded = load_file(path, display=_display(path))
    except YamlLoadError as exc:
        report.issues.append(exc.issue)
        return None
    report.issues += loaded.warnings
    return loaded
