"""The one output policy (peersim.io): atomic files, tables by ``output.*``, plain JSON, figures,
and every writer (a run, the experiments, a sweep's table) following it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from peersim import io
from peersim.experiments import run_experiment
from peersim.tables import read_csv

FRAME = pd.DataFrame({"a": [1, 2], "x": [0.5, 1.25], "name": ["Ærø", "Høje-Taastrup"]})


def _leftovers(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.startswith("."))


@pytest.mark.parametrize(("parquet", "csv", "expected"), [
    (True, True, {"t.csv", "t.parquet"}),
    (True, False, {"t.parquet"}),
    (False, True, {"t.csv"}),
    (False, False, {"t.csv"}),   # a table is never written in no format at all
])
def test_write_tables_writes_the_formats_asked_for(tmp_path, parquet, csv, expected):
    io.write_tables(tmp_path, {"t": FRAME}, io.TableFormats(parquet=parquet, csv=csv))
    assert set(os.listdir(tmp_path)) == expected


def test_a_format_switched_off_is_removed_not_left_stale(tmp_path):
    io.write_tables(tmp_path, {"t": FRAME}, io.TableFormats(parquet=True, csv=True))
    io.write_tables(tmp_path, {"t": FRAME.head(1)}, io.TableFormats(parquet=True, csv=False))
    assert set(os.listdir(tmp_path)) == {"t.parquet"}
    assert len(pd.read_parquet(tmp_path / "t.parquet")) == 1


def test_danish_csv_reads_back_equal_to_the_parquet(tmp_path):
    io.write_tables(tmp_path, {"t": FRAME}, io.TableFormats(csv_locale="da"))
    raw = (tmp_path / "t.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"0,5" in raw and b";" in raw
    pd.testing.assert_frame_equal(read_csv(tmp_path / "t.csv", "da"), pd.read_parquet(tmp_path / "t.parquet"))


def test_a_failing_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    path = io.write_text(tmp_path / "f.txt", "old")

    def half_then_fail(p: Path) -> None:
        p.write_text("half a fi")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        io.atomic_write(path, half_then_fail)
    assert path.read_text() == "old"
    assert _leftovers(tmp_path) == []


def test_files_get_the_usual_permissions_not_mkstemps_private_ones(tmp_path):
    mask = os.umask(0)
    os.umask(mask)
    path = io.write_json(tmp_path / "x.json", {"a": 1})
    assert path.stat().st_mode & 0o777 == io._FILE_MODE == 0o666 & ~mask


def test_json_safe_gives_plain_json():
    data = {"nan": float("nan"), "inf": np.float64("inf"), "n": np.int64(3), "f": np.float32(0.5),
            "b": np.bool_(True), "t": (1, np.nan), 2: {"deep": [np.int32(7)]}, "s": "Ærø"}
    safe = io.json_safe(data)
    assert safe == {"nan": None, "inf": None, "n": 3, "f": 0.5, "b": True, "t": [1, None], "2": {"deep": [7]},
                    "s": "Ærø"}
    text = json.dumps(safe, allow_nan=False)   # raises if any NaN survived
    assert json.loads(text)["s"] == "Ærø"
    assert type(safe["n"]) is int and type(safe["b"]) is bool


def test_begin_result_removes_only_the_marker(tmp_path):
    (tmp_path / "summary.json").write_text("{}")
    (tmp_path / "keep.csv").write_text("a\n1\n")
    io.begin_result(tmp_path, "summary.json")
    assert sorted(os.listdir(tmp_path)) == ["keep.csv"]


def test_save_figure_writes_a_png_and_closes_the_figure(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    before = len(plt.get_fignums())
    path = io.save_figure(fig, tmp_path / "c.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(plt.get_fignums()) == before - 1
    assert _leftovers(tmp_path) == []


# -- every experiment follows output.* -----------------------------------------------------------
EXPERIMENTS = {
    "compare_implementations": (["years=1", "experiment.replications=2", "experiment.arms=[partnership]",
                                 "experiment.n_jobs=1", "experiment.progress=false"],
                                ["comparison", "differences", "replications"], "comparison_summary.json"),
    "validate": (["experiment.replications=2", "experiment.select=[courses_per_year_partnership]",
                  "experiment.n_jobs=1", "experiment.progress=false"],
                 ["validation", "validation_replications"], "validation.md"),
}


@pytest.mark.parametrize("name", list(EXPERIMENTS))
def test_experiments_follow_the_output_switches(tmp_path, name):
    overrides, tables, marker = EXPERIMENTS[name]
    out = tmp_path / name
    run_experiment(name, [*overrides, "output.csv=false", "output.charts=false"], out)
    files = set(os.listdir(out))
    assert {f"{t}.parquet" for t in tables} <= files
    assert not any(f.endswith((".csv", ".png")) for f in files), files
    assert marker in files and _leftovers(out) == []

    run_experiment(name, [*overrides, "output.parquet=false", "output.csv_locale=da", "output.charts=false"], out)
    files = set(os.listdir(out))
    assert {f"{t}.csv" for t in tables} <= files
    assert not any(f.endswith(".parquet") for f in files), "a stale Parquet table beside the new CSV"
    assert len(read_csv(out / f"{tables[0]}.csv", "da")) > 0
