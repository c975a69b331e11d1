"""Add up the reports of every suite run by scripts/test and print one closing line.

Exits 1 when any test failed or a suite left no report (it crashed before reporting), 0 otherwise.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def pytest_counts(path: Path) -> tuple[int, int, int]:
    suites = ET.parse(path).getroot()
    total = failed = skipped = 0
    for suite in suites.iter("testsuite"):
        total += int(suite.get("tests", 0))
        failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skipped += int(suite.get("skipped", 0))
    return total - failed - skipped, failed, skipped


def jest_counts(path: Path) -> tuple[int, int, int]:
    data = json.loads(path.read_text())
    broken_suites = data.get("numRuntimeErrorTestSuites", 0)
    return data["numPassedTests"], data["numFailedTests"] + broken_suites, data["numPendingTests"]


def playwright_counts(path: Path) -> tuple[int, int, int]:
    stats = json.loads(path.read_text())["stats"]
    return stats["expected"], stats["unexpected"] + stats.get("flaky", 0), stats["skipped"]


SUITES = {
    "pytest": ("pytest.xml", pytest_counts),
    "jest": ("jest.json", jest_counts),
    "galata": ("playwright.json", playwright_counts),
}


def main(reports: Path) -> int:
    passed = failed = skipped = 0
    missing = []
    for name, (file, count) in SUITES.items():
        path = reports / file
        if not path.exists():
            missing.append(name)
            print(f"{name}: no report (the suite crashed before reporting)")
            continue
        p, f, s = count(path)
        print(f"{name}: {p} passed, {f} failed, {s} skipped")
        passed, failed, skipped = passed + p, failed + f, skipped + s
    print(f"{passed} passed, {failed + len(missing)} failed, {skipped} skipped")
    return 1 if failed or missing or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
