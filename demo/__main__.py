"""`make demo`: run the main job on the embedded SQLite default, through the real CLI.

Every step is a real `flowengine` process, exactly what an operator would type.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLOWENGINE = [sys.executable, "-m", "flowengine"]


def run(*args: str, check: bool = True) -> str:
    """Run one CLI command, echoing it as a user would type it."""
    print(f"\n$ flowengine {shlex.join(args)}", flush=True)
    result = subprocess.run(
        [*FLOWENGINE, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "110"},
        check=False,
    )
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if check and result.returncode != 0:
        sys.exit(f"demo step failed with exit code {result.returncode}")
    return result.stdout


def main() -> None:
    run("validate", "flows/")
    run("flows")
    run("show", "bizim_masa")
    run("graph", "bizim_masa", "--format", "mermaid", "-o", "build/bizim_masa.mmd")
    print("\nNext, try:")
    print("  .venv/bin/flowengine show basin_yayin")
    print("  .venv/bin/flowengine graph idari_isler --format dot")


if __name__ == "__main__":
    os.makedirs(ROOT / "build", exist_ok=True)
    main()
