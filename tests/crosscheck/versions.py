"""Add this virtualenv's torch version to reports/torch-versions.json (after a passing suite).

Run by `nox -s tests-latest` once the normal test suite has passed on a newer torch; the paper
cards (tools/generator/pages.py) list these versions beside the one pinned in pyproject.toml.
"""

from __future__ import annotations

import json
import platform
import time
from importlib.metadata import version
from pathlib import Path

REPORT = Path(__file__).resolve().parents[2] / "reports" / "torch-versions.json"


def passed_on() -> list[str]:
    """Torch versions the whole suite passed on, oldest first (empty without a report)."""
    if not REPORT.exists():
        return []
    runs = json.loads(REPORT.read_text(encoding="utf-8"))["runs"]
    return sorted(runs, key=lambda v: tuple(int(p) for p in v.split(".") if p.isdigit()))


def main() -> None:
    """Record the current torch."""
    data = {"runs": {}}
    if REPORT.exists():
        data = json.loads(REPORT.read_text(encoding="utf-8"))
    torch_version = version("torch").split("+")[0]
    data["note"] = "torch versions on which `nox -s tests` (the whole suite) passed"
    data["runs"][torch_version] = {
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "python": platform.python_version(),
        "session": "tests-latest",
    }
    data["runs"] = dict(sorted(data["runs"].items()))
    REPORT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"{REPORT.relative_to(REPORT.parents[1])}: torch {torch_version} recorded")


if __name__ == "__main__":
    main()
