"""validate --against-git: a changed flow that kept its version fails CI."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from tests.cli.helpers import run_main
from tests.conftest import FLOWS, ROOT


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=cwd, check=True, capture_output=True,
    )  # fmt: skip


def test_an_edit_without_a_version_bump_fails_against_the_previous_revision(
    tmp_path: Path,
) -> None:
    """Edited title, same version: exit 1 naming the flow; bumped: passes."""
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "flows")
    target = flows / "sosyal_medya.yaml"
    target.write_text(target.read_text("utf-8").replace("title: Sosyal", "title: Yeni Sosyal", 1))

    def validate() -> subprocess.CompletedProcess[str]:
        return run_main(["validate", str(flows), "--against-git", "HEAD"], cwd=ROOT)

    stated = re.search(r"^version: (\d+)", target.read_text("utf-8"), re.M)
    assert stated is not None
    version = int(stated[1])
    failed = validate()
    assert failed.returncode == 1
    assert (
        f"error: flow 'sosyal_medya' changed since HEAD but its version is still {version}; "
        f"raise 'version' to {version + 1}"
    ) in failed.stdout
    bumped = target.read_text("utf-8").replace(f"version: {version}", f"version: {version + 1}", 1)
    target.write_text(bumped)
    assert validate().returncode == 0
