"""Regenerate the fixed-seed baseline that ``tests/test_outputs.py`` compares every run against.

    python scripts/update_baseline.py            # from the repository root (PYTHONPATH=src if not installed)

Run it deliberately, after a change to the model or its defaults that is *meant* to change results,
and commit the new ``tests/baseline/baseline.json`` together with that change, so the diff of the
baseline shows what the change did to the key figures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BASELINE = REPO / "tests" / "baseline" / "baseline.json"

# name -> Hydra-style overrides; each case is one fixed-seed run of the full 5-year horizon
CASES: dict[str, list[str]] = {
    "local_coordinator_fredericia_seed1": [
        "scenario=local_coordinator", "municipality=fredericia", "seed=1", "years=5"],
    "partnership_fredericia_seed1": [
        "scenario=partnership", "municipality=fredericia", "seed=1", "years=5"],
}
# summary keys that identify the software and the configuration rather than describe results
VOLATILE_KEYS = ("peersim_version", "config_hash")


def summary_for(overrides: list[str]) -> dict[str, Any]:
    """The run's summary without the volatile keys (what the baseline stores)."""
    from peersim import run

    summary = run(list(overrides)).summary
    return {k: v for k, v in summary.items() if k not in VOLATILE_KEYS}


def build() -> dict[str, Any]:
    return {
        "_note": "fixed-seed regression baseline; regenerate deliberately with `python scripts/update_baseline.py`",
        "cases": {name: {"overrides": ov, "summary": summary_for(ov)} for name, ov in CASES.items()},
    }


def main() -> None:
    try:
        import peersim  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(REPO / "src"))
    data = build()
    BASELINE.parent.mkdir(parents=True, exist_ok=True)
    BASELINE.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {BASELINE.relative_to(REPO)}: {', '.join(data['cases'])}")


if __name__ == "__main__":
    main()
