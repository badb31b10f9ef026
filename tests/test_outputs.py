"""What a run writes: tables that open in pandas, a summary written last (never half-written), and
the fixed-seed baseline regression."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO

import peersim.charts
from peersim import run

TABLES = ("timeseries", "citizens", "volunteers", "courses")
CHARTS = ("chart_referrals_waiting.png", "chart_course_starts.png", "chart_volunteers.png", "chart_qpr.png")


def _strict_json(path: Path) -> dict:
    def no_nan(token: str):
        raise ValueError(f"{path.name} contains {token}, which is not JSON")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=no_nan)


def _leftovers(folder: Path) -> list[str]:
    """Temporary files of an interrupted atomic write."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ---------------------------------------------------------------------------------------------
# Tables and summary
# ---------------------------------------------------------------------------------------------

def test_tables_open_from_parquet_and_csv_with_the_same_rows(default_run, out_dir):
    default_run.write(out_dir, charts=False)
    for name in TABLES:
        frame = getattr(default_run, name)
        from_parquet = pd.read_parquet(out_dir / f"{name}.parquet")
        from_csv = pd.read_csv(out_dir / f"{name}.csv")
        assert len(frame) > 0, f"{name} is empty"
        assert len(from_parquet) == len(from_csv) == len(frame), f"{name}: row counts differ"
        assert list(from_parquet.columns) == list(from_csv.columns) == list(frame.columns), f"{name}: columns differ"
        pd.testing.assert_frame_equal(from_parquet, frame, obj=f"{name}.parquet")
    ts = pd.read_csv(out_dir / "timeseries.csv")
    pd.testing.assert_series_equal(ts["cum_citizens_started"], default_run.timeseries["cum_citizens_started"])
    assert _leftovers(out_dir) == [], "temporary files left behind"


def test_danish_csv_files_use_semicolons_decimal_commas_and_a_bom_and_read_back_the_same(make_params, out_dir):
    from peersim.tables import read_csv

    p = make_params("years=1", "output.csv_locale=da", seed=1)
    result = run(p)
    result.write(out_dir, charts=False)
    for name in (*TABLES, "cashflow"):
        raw = (out_dir / f"{name}.csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), f"{name}.csv has no UTF-8 byte-order mark (Danish Excel garbles æøå)"
        header = raw[3:].split(b"\n", 1)[0].decode()
        assert ";" in header and "," not in header, f"{name}.csv header is not semicolon-separated: {header[:80]}"
        back = read_csv(out_dir / f"{name}.csv", "da")
        parquet = pd.read_parquet(out_dir / f"{name}.parquet")
        assert list(back.columns) == list(parquet.columns) and len(back) == len(parquet), name
        for col in parquet.select_dtypes("float").columns:
            assert back[col].dtype.kind == "f", f"{name}.{col} did not read back as numbers"
            pd.testing.assert_series_equal(back[col], parquet[col], check_exact=False, obj=f"{name}.{col}")
    floats = (out_dir / "citizens.csv").read_text(encoding="utf-8-sig").splitlines()[1]
    assert re.search(r";\d+,\d+;", floats), f"no decimal comma in a citizens row: {floats[:120]}"


def test_summary_json_is_the_result_summary_in_strict_json(default_run, out_dir):
    default_run.write(out_dir, charts=False)
    on_disk = _strict_json(out_dir / "summary.json")
    assert on_disk == default_run.summary
    for key, value in on_disk.items():
        assert value is None or isinstance(value, str | int | float | bool), f"{key} is not a flat scalar"
        assert not (isinstance(value, float) and not math.isfinite(value)), key
    config = _strict_json(out_dir / "config.json")
    assert config["seed"] == default_run.params.seed
    assert config["coordinator"]["fte"] == default_run.params.coordinator.fte


def test_parquet_off_writes_csv_tables_only(make_params, out_dir):
    p = make_params("years=1", seed=1)
    p.output.parquet = False
    run(p).write(out_dir, charts=False)
    names = {f.name for f in out_dir.iterdir()}
    assert {f"{t}.csv" for t in TABLES} <= names
    assert not any(n.endswith(".parquet") for n in names)
    assert not any(n.endswith(".png") for n in names), "charts written with charts=False"
    assert "summary.json" in names


def test_a_run_without_citizens_still_writes_complete_outputs(make_params, out_dir):
    p = make_params("years=1", seed=1)
    p.referral.staff_referral_rate_per_year = 0.0
    p.referral.self_referral_share_of_attendees = 0.0
    result = run(p)
    result.write(out_dir, charts=True)
    assert (out_dir / "summary.json").is_file()
    assert all((out_dir / c).is_file() for c in CHARTS)
    assert len(pd.read_parquet(out_dir / "citizens.parquet")) == 0
    assert list(pd.read_parquet(out_dir / "citizens.parquet").columns) == list(result.citizens.columns)
    assert _strict_json(out_dir / "summary.json")["citizens_referred"] == 0


def test_write_twice_replaces_the_outputs(default_run, out_dir):
    default_run.write(out_dir, charts=False)
    default_run.write(out_dir, charts=False)
    assert _strict_json(out_dir / "summary.json") == default_run.summary
    assert _leftovers(out_dir) == []


def test_output_files_get_the_usual_permissions(default_run, out_dir):
    umask = os.umask(0)
    os.umask(umask)
    expected = 0o666 & ~umask
    default_run.write(out_dir, charts=False)
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in out_dir.iterdir()}
    assert all(m == oct(expected) for m in modes.values()), f"expected {oct(expected)}: {modes}"


# ---------------------------------------------------------------------------------------------
# Nothing half-written looks like a result
# ---------------------------------------------------------------------------------------------

def test_failing_chart_leaves_no_summary(default_run, out_dir, monkeypatch):
    default_run.write(out_dir, charts=False)  # an earlier complete result in the same folder
    assert (out_dir / "summary.json").is_file()

    def broken(*args, **kwargs):
        raise RuntimeError("chart failed")

    monkeypatch.setattr(peersim.charts, "run_charts", broken)
    with pytest.raises(RuntimeError, match="chart failed"):
        default_run.write(out_dir, charts=True)
    assert not (out_dir / "summary.json").exists(), "summary.json survives a write that failed mid-way"
    assert _leftovers(out_dir) == []


def test_failing_table_leaves_no_summary_and_no_partial_file(default_run, out_dir, monkeypatch):
    real = pd.DataFrame.to_parquet
    calls = {"n": 0}

    def fails_on_second_table(self, path, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            Path(path).write_bytes(b"PAR1 half a file")
            raise OSError("disk full")
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", fails_on_second_table)
    with pytest.raises(OSError, match="disk full"):
        default_run.write(out_dir, charts=False)
    names = sorted(os.listdir(out_dir))
    assert "summary.json" not in names, "summary.json written although a table failed"
    assert "citizens.parquet" not in names, "a half-written table has its final name"
    assert _leftovers(out_dir) == [], f"temporary files left behind: {names}"


# ---------------------------------------------------------------------------------------------
# Fixed-seed baseline regression
# ---------------------------------------------------------------------------------------------

BASELINE = REPO / "tests" / "baseline" / "baseline.json"
REGENERATE = "regenerate deliberately with `python scripts/update_baseline.py` if the change is intended"


def _update_baseline_module():
    spec = importlib.util.spec_from_file_location("update_baseline", REPO / "scripts" / "update_baseline.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _differences(expected: dict, actual: dict) -> list[str]:
    out = []
    for key in sorted(set(expected) | set(actual)):
        if key not in actual:
            out.append(f"{key}: missing (baseline {expected[key]!r})")
        elif key not in expected:
            out.append(f"{key}: new key ({actual[key]!r})")
        else:
            e, a = expected[key], actual[key]
            if isinstance(e, float) and isinstance(a, int | float) and not isinstance(a, bool):
                same = math.isclose(e, a, rel_tol=1e-9, abs_tol=0.0) or e == a
            else:
                same = e == a and type(e) is type(a)
            if not same:
                out.append(f"{key}: baseline {e!r}, now {a!r}")
    return out


def _baseline_cases() -> dict:
    if not BASELINE.is_file():
        return {}
    return json.loads(BASELINE.read_text(encoding="utf-8"))["cases"]


def test_baseline_covers_the_scripted_cases():
    script = _update_baseline_module()
    assert BASELINE.is_file(), f"no {BASELINE.relative_to(REPO)}: {REGENERATE}"
    cases = _baseline_cases()
    assert {n: c["overrides"] for n, c in cases.items()} == script.CASES, (
        f"baseline.json and scripts/update_baseline.py list different cases: {REGENERATE}"
    )


@pytest.mark.parametrize("name", sorted(_baseline_cases()) or ["(no baseline file)"])
def test_fixed_seed_run_matches_the_baseline(name):
    cases = _baseline_cases()
    assert name in cases, f"no baseline for {name}: {REGENERATE}"
    script = _update_baseline_module()
    expected = cases[name]["summary"]
    actual = json.loads(json.dumps(script.summary_for(cases[name]["overrides"])))  # compare as stored
    diffs = _differences(expected, actual)
    assert not diffs, (
        f"{name} ({' '.join(cases[name]['overrides'])}) differs from tests/baseline/baseline.json:\n  "
        + "\n  ".join(diffs) + f"\n{REGENERATE}"
    )


def test_baseline_comparison_is_exact_for_ints_and_tight_for_floats():
    base = {"courses_started": 50, "fidelity_mean": 0.9, "mean_wait_weeks": None, "scenario": "x"}
    assert _differences(base, dict(base)) == []
    assert _differences(base, {**base, "fidelity_mean": 0.9 * (1 + 1e-12)}) == []
    assert _differences(base, {**base, "fidelity_mean": 0.9 * (1 + 1e-6)}) != []
    assert _differences(base, {**base, "courses_started": 51}) != []
    assert _differences(base, {**base, "mean_wait_weeks": 3.0}) != []
    assert _differences(base, {k: v for k, v in base.items() if k != "scenario"}) != []
