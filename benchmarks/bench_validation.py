"""Time to validate 200 generated flows of 50 states, and the seed flows.

The baseline measured in the same run is parsing the same files with PyYAML's
C SafeLoader alone, so the ratio says what validation adds to reading YAML.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import yaml

from benchmarks.common import emit, measure
from flowengine.definition import compile_flow
from flowengine.flowset import validate_paths

ROOT = Path(__file__).resolve().parents[1]


def generated_flow(index: int, states: int = 50) -> str:
    """A flow of ``states`` states: a chain of tasks with guards, decisions and ends."""
    lines = [
        f"flow: uretilmis_{index:03d}",
        "version: 1",
        f"title: Üretilmiş akış {index}",
        "directorate: basin_yayin_halkla_iliskiler",
        "unit: bizim_masa",
        "reference: GN-{year}-{seq:06d}",
        "roles:",
        "  masa: {title: Masa}",
        "data:",
        "  tutar: {type: integer}",
        "  kapsam: {type: enum, values: [kurum_ici, kurum_disi]}",
        "  aciklama: {type: text, max_length: 500}",
        "start: s0",
        "states:",
    ]
    for i in range(states - 2):
        nxt = f"s{i + 1}" if i + 1 < states - 2 else "bitti"
        if i % 5 == 4:
            lines += [
                f"  s{i}:",
                "    type: decision",
                "    choices:",
                f"      - {{when: 'tutar > {i}', to: {nxt}}}",
                "    otherwise: reddedildi",
            ]
        else:
            lines += [
                f"  s{i}:",
                "    type: task",
                f"    title: Adım {i}",
                "    role: masa",
                "    sla: 2d",
                "    on:",
                f"      ilerle: {{to: {nxt}, when: 'kapsam == \"kurum_ici\"', "
                f"set: {{tutar: {i}}}}}",
                "      reddet: {to: reddedildi, comment: required}",
            ]
    lines += [
        "  bitti: {type: end, outcome: resolved}",
        "  reddedildi: {type: end, outcome: rejected}",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="flowengine-bench-"))
    try:
        shutil.copy(ROOT / "flows" / "organization.yaml", folder / "organization.yaml")
        for i in range(200):
            (folder / f"uretilmis_{i:03d}.yaml").write_text(generated_flow(i), encoding="utf-8")
        report = validate_paths([folder])
        assert report.ok, report.errors[:3]
        files = sorted(folder.glob("*.yaml"))

        def parse_only() -> None:
            for path in files:
                yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)

        generated = measure(lambda: validate_paths([folder]), rounds=5)
        baseline = measure(parse_only, rounds=5)
        seeds = measure(lambda: validate_paths([ROOT / "flows"]), rounds=10)
        seed_report = validate_paths([ROOT / "flows"])

        def compile_seeds() -> None:
            for parsed in seed_report.flows.values():
                compile_flow(parsed.doc, Path(parsed.loaded.path).read_text(encoding="utf-8"))

        compiled = measure(compile_seeds, rounds=10)
    finally:
        shutil.rmtree(folder)
    ratio = generated["median_s"] / baseline["median_s"]
    print("validation")
    print(
        f"  200 flows × 50 states: {generated['median_s'] * 1000:8.1f} ms median "
        f"(spread {generated['spread']:.0%}; target < 1000 ms)"
    )
    print(
        f"  baseline (PyYAML C SafeLoader only): {baseline['median_s'] * 1000:8.1f} ms "
        f"→ validation costs {ratio:.1f}× parsing"
    )
    print(f"  seed flows (5 files): {seeds['median_s'] * 1000:8.1f} ms median to validate")
    print(f"  seed flows compiled:  {compiled['median_s'] * 1000:8.1f} ms median (once a process)")
    emit(
        "validation",
        {
            "generated_200x50_ms": round(generated["median_s"] * 1000, 1),
            "generated_spread": round(generated["spread"], 3),
            "yaml_parse_only_ms": round(baseline["median_s"] * 1000, 1),
            "ratio_to_parse": round(ratio, 2),
            "seed_flows_ms": round(seeds["median_s"] * 1000, 1),
            "seed_flows_compile_ms": round(compiled["median_s"] * 1000, 2),
        },
    )
