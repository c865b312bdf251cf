"""Parity fixtures: the test photos, one Node run for every reference case, and a summary.

The reference runs once per session (cached across sessions by content, see
``ReferenceRunner(reuse_results=True)``); the figures are printed at the end of the run and
written to ``out/parity_summary.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from parity.cases import (
    CASES,
    KEYPOINT_TOLERANCE_PX,
    SCORE_TOLERANCE,
    ParityCase,
    parity_config,
)
from parity.compare import PoseDifference
from posenet_ros.reference.images import IMAGES, build_test_images
from posenet_ros.reference.runner import PosesJob, ReferenceRunner

SUMMARY_PATH = Path(__file__).resolve().parents[2] / "out" / "parity_summary.json"
_RESULTS = pytest.StashKey[dict[str, PoseDifference]]()


@pytest.fixture(scope="session")
def parity_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_test_images(tmp_path_factory.mktemp("parity-photos"))


@pytest.fixture(scope="session")
def reference_results(parity_images: dict[str, Path]) -> dict[ParityCase, dict[str, Any]]:
    """The reference's CLI-format result for every case, from one Node process."""
    settings = sorted({case.settings for case in CASES})
    names = tuple(IMAGES)
    images = tuple(parity_images[name] for name in names)
    run = ReferenceRunner(reuse_results=True).run(
        [PosesJob(images, parity_config(*s)) for s in settings]
    )
    return {
        ParityCase(name, *key): per_image[index]
        for key, per_image in zip(settings, run.results, strict=True)
        for index, name in enumerate(names)
    }


@pytest.fixture(scope="session")
def parity_record(pytestconfig: pytest.Config):
    """Records one case's differences for the end-of-run summary."""
    results = pytestconfig.stash.setdefault(_RESULTS, {})

    def record(case: ParityCase, difference: PoseDifference) -> None:
        results[str(case)] = difference

    return record


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    results = config.stash.get(_RESULTS, {})
    if not results:
        return
    summary = _summary(results)
    SUMMARY_PATH.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY_PATH.write_text(json.dumps(summary, indent=2))
    terminalreporter.section("parity with @tensorflow-models/posenet 2.2.2")
    terminalreporter.write_line(
        f"{summary['cases']} cases, {summary['within_tolerance']} within tolerance; "
        f"max keypoint error {summary['max_keypoint_px']:.3g} px "
        f"(tolerance {KEYPOINT_TOLERANCE_PX}), max score error {summary['max_score']:.3g} "
        f"(tolerance {SCORE_TOLERANCE}); pose count mismatches: {summary['count_mismatches']}"
    )
    for name, case in summary["worst_cases"].items():
        terminalreporter.write_line(f"  worst {name}: {case}")
    terminalreporter.write_line(f"summary written to {SUMMARY_PATH}")


def _summary(results: dict[str, PoseDifference]) -> dict[str, Any]:
    worst_px = max(results, key=lambda name: results[name].max_keypoint_px)
    worst_score = max(results, key=lambda name: results[name].max_score)
    return {
        "cases": len(results),
        "within_tolerance": sum(
            d.within(KEYPOINT_TOLERANCE_PX, SCORE_TOLERANCE) for d in results.values()
        ),
        "max_keypoint_px": results[worst_px].max_keypoint_px,
        "max_score": results[worst_score].max_score,
        "count_mismatches": [n for n, d in results.items() if d.count != d.reference_count],
        "worst_cases": {"keypoint": worst_px, "score": worst_score},
        "per_case": {
            name: {
                "poses": d.count,
                "reference_poses": d.reference_count,
                "max_keypoint_px": d.max_keypoint_px,
                "max_score": d.max_score,
                "worst_keypoint": d.worst_keypoint,
            }
            for name, d in sorted(results.items())
        },
    }
