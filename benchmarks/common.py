"""Timing helpers shared by the benchmarks: warm-up, rounds, median and spread."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any


def measure(fn: Callable[[], Any], *, rounds: int = 5, warmup: int = 1) -> dict[str, float]:
    """Run ``fn`` ``warmup`` times unmeasured, then ``rounds`` times; seconds per run."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "spread": (max(times) - min(times)) / statistics.median(times),
    }


def emit(name: str, figures: dict[str, Any]) -> None:
    print(json.dumps({"benchmark": name, **figures}, ensure_ascii=False))


# A Bizim Masa request as it arrives: realistic Turkish text, about 1 KB in all.
BIZIM_MASA_PAYLOAD = {
    "kanal": "whatsapp",
    "basvuru_turu": "sikayet",
    "ad_soyad": "Zeynep Kaya",
    "konu": "Sokak lambası yanmıyor",
    "metin": "Sakarya Mahallesi 12. sokaktaki aydınlatma direği üç gündür yanmıyor. " * 12,
}
