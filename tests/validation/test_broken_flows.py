"""Every file of the broken-flow corpus yields exactly the errors its header expects.

A corpus file starts with one ``# expect: LINE:COL: MESSAGE`` line per error, in
the validator's order. The whole ``broken/`` folder is validated at once, as
``flowengine validate`` would, so one file's defect must not leak into another.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flowengine.flowset import ValidationReport, validate_paths

HERE = Path(__file__).parent
REPO = HERE.parents[1]
BROKEN = HERE / "broken"
CRASHING = HERE / "crashing"
VALID = HERE / "valid"
EXPECT = "# expect: "


def corpus(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.yaml") if p.name != "organization.yaml")


def expected(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.removeprefix(EXPECT) for line in lines if line.startswith(EXPECT)]


def errors_of(report: ValidationReport, path: Path) -> list[str]:
    return [
        f"{i.line}:{i.column}: {i.message}"
        for i in report.errors
        if (REPO / i.path).resolve() == path.resolve()
    ]


def validate_from_repo(paths: list[Path]) -> ValidationReport:
    """Validate with the repository as working directory, so paths in messages are stable."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        return validate_paths(paths)


@pytest.fixture(scope="module")
def broken_report() -> ValidationReport:
    return validate_from_repo([BROKEN])


@pytest.mark.parametrize("path", corpus(BROKEN), ids=lambda p: p.stem)
def test_broken_flow_reports_expected_errors(broken_report: ValidationReport, path: Path) -> None:
    """The file's errors are exactly its `# expect:` lines, in order."""
    assert expected(path), f"{path.name} has no '# expect:' line"
    assert errors_of(broken_report, path) == expected(path)


def test_organization_file_of_corpus_is_valid(broken_report: ValidationReport) -> None:
    """The corpus's organisation file itself has no errors."""
    assert errors_of(broken_report, BROKEN / "organization.yaml") == []


def test_corpus_is_large_enough() -> None:
    """The corpus holds at least 35 broken flows."""
    assert len(corpus(BROKEN)) >= 35


@pytest.mark.parametrize("path", corpus(CRASHING), ids=lambda p: p.stem)
def test_flow_that_crashed_the_validator(path: Path) -> None:
    """A file that once crashed the validator is validated alone and gets its errors."""
    report = validate_from_repo([BROKEN / "organization.yaml", path])
    assert errors_of(report, path) == expected(path)


def test_valid_folder_has_no_errors() -> None:
    """The valid/ flows pass: `on`, `yes`, `no` and `off` stay strings."""
    report = validate_from_repo([VALID])
    assert report.errors == []
    doc = report.flows["gecerli_anahtar_kelimeler"].doc
    assert doc.data["cevap"].values == ["yes", "no", "on", "off"]
    assert list(doc.states["inceleme"].on) == ["on", "off", "yes", "no"]
    assert doc.data["durum"].default == "no"
