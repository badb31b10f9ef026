"""What a sensitivity report may say of an index: negligible only when its whole interval is small;
a wide interval is "not estimated precisely: raise N", never negligible; charts clip and mark
whiskers that run off the axis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from peersim.experiments.sensitivity.analysis import IMPRECISE, NEGLIGIBLE, influential, verdicts, with_verdicts
from peersim.experiments.sensitivity.report import _morris_section, _sobol_section

SETTINGS = {"conf_level": 0.95, "base_samples": 32, "trajectories": 20}


def _sobol_table() -> pd.DataFrame:
    # the case: eligible_share ranked 2nd with ST 0.516 +- 0.771 was listed as negligible
    rows = [("hours_per_course_week", 0.75, 0.38), ("eligible_share", 0.516, 0.771), ("admin_share", 0.32, 0.10),
            ("tight_small", 0.01, 0.02), ("small_but_loose", 0.03, 0.08), ("zero_but_wide", 0.0, 0.30)]
    t = pd.DataFrame([{"output": "citizens_started", "parameter": p, "S1": st / 2, "S1_conf": c, "ST": st, "ST_conf": c,
                       "S1_seed_se": np.nan, "ST_seed_se": np.nan} for p, st, c in rows])
    t["rank"] = t["ST"].rank(ascending=False, method="min").astype(int)
    return t


def _section(table: pd.DataFrame, method: str = "sobol") -> str:
    rows, rest = influential(table, method)
    if method == "sobol":
        return "\n".join(_sobol_section(table, rows, rest, SETTINGS))
    return "\n".join(_morris_section(table, rows, rest, SETTINGS))


def _negligible_line(text: str) -> str:
    return next((line for line in text.splitlines() if line.startswith("Negligible")), "")


def test_verdicts_by_hand():
    v, precise = verdicts(_sobol_table(), "sobol")
    assert list(v) == ["influential", "imprecise", "influential", "negligible", "unclear", "imprecise"]
    assert list(precise) == [False, False, True, True, True, False]


def test_a_wide_interval_is_never_called_negligible_and_asks_for_more_samples():
    text = _section(_sobol_table())
    negligible = _negligible_line(text)
    assert "`tight_small`" in negligible
    for name in ("eligible_share", "zero_but_wide", "small_but_loose"):
        assert name not in negligible, name
    imprecise = next(line for line in text.splitlines() if line.startswith("**Not estimated precisely**"))
    assert "`eligible_share` (ST 0.52 ± 0.77)" in imprecise and "`zero_but_wide`" in imprecise
    assert "experiment.base_samples=128" in imprecise
    # an influential index with a wide interval is named as influential, and flagged
    assert "`hours_per_course_week`: ST 0.75 ± 0.38" in text and "not estimated precisely" in text.split("\n")[2]
    assert f"below {NEGLIGIBLE:g}" in negligible and f"above {IMPRECISE:g}" in imprecise


@pytest.mark.parametrize("st, conf, verdict", [
    (0.0, 0.049, "negligible"), (0.02, 0.029, "negligible"), (0.02, 0.031, "unclear"), (0.04, 0.26, "imprecise"),
    (0.06, 0.05, "influential"), (0.06, 0.07, "unclear"), (np.nan, np.nan, "n/a"),
])
def test_negligible_means_the_whole_interval_below_the_threshold(st, conf, verdict):
    t = pd.DataFrame({"output": ["y"], "parameter": ["p"], "ST": [st], "ST_conf": [conf], "rank": [1]})
    assert verdicts(t, "sobol")[0].iloc[0] == verdict


def test_morris_verdicts_are_relative_to_the_largest_mu_star():
    t = pd.DataFrame({"output": "y", "parameter": ["big", "wide", "tiny", "zero"], "mu": 0.0,
                      "mu_star": [100.0, 20.0, 1.0, 0.0], "mu_star_conf": [60.0, 55.0, 2.0, 0.0], "sigma": 1.0,
                      "mu_star_seed_se": np.nan, "rank": [1, 2, 3, 4]})
    # the threshold is half the largest mu* (50): "big" is influential but imprecise, "wide" imprecise
    assert list(verdicts(t, "morris")[0]) == ["influential", "imprecise", "negligible", "negligible"]
    assert list(verdicts(t, "morris")[1]) == [False, False, True, True]
    assert verdicts(t.assign(mu_star_conf=[49.0, 49.0, 2.0, 0.0]), "morris")[0].iloc[1] == "unclear"
    text = _section(t, "morris")
    assert "`wide`" not in _negligible_line(text) and "`tiny`" in _negligible_line(text)
    assert "experiment.trajectories=80" in text


def test_the_indices_table_carries_the_verdicts_output_by_output():
    t = pd.concat([_sobol_table(), _sobol_table().assign(output="other", ST_conf=0.01)], ignore_index=True)
    out = with_verdicts(t, "sobol")
    first = out[out["output"] == "citizens_started"]
    assert list(first["verdict"]) == list(verdicts(_sobol_table(), "sobol")[0])
    assert out[out["output"] == "other"]["precise"].all()


# -- charts ------------------------------------------------------------------------------------

def test_whiskers_are_clipped_at_the_axis_and_marked():
    import matplotlib.pyplot as plt

    from peersim.experiments.sensitivity.charts import CLIPPED, clipped_whiskers

    fig, ax = plt.subplots()
    cut = clipped_whiskers(ax, np.arange(3), np.array([0.5, 0.2, 0.9]), np.array([0.77, 0.05, 0.3]), -0.15, 1.05)
    assert list(cut) == [True, False, True]
    bars = ax.containers[0].lines[2][0].get_segments()     # the whiskers' line segments
    assert all(-0.15 - 1e-12 <= x <= 1.05 + 1e-12 for seg in bars for x, _ in seg)
    marks = [line for line in ax.lines if line.get_color() == CLIPPED]
    right = sum(len(line.get_xdata()) for line in marks if line.get_marker() == ">")
    left = sum(len(line.get_xdata()) for line in marks if line.get_marker() == "<")
    assert (right, left) == (2, 1)                           # 0.5 + 0.77 and 0.9 + 0.3 beyond 1.05; 0.5 - 0.77 < -0.15
    plt.close(fig)


def test_the_tornado_marks_clipped_whiskers_and_imprecise_parameters():
    import matplotlib.pyplot as plt

    from peersim.experiments.sensitivity.charts import CLIP_NOTE, sobol_tornado

    fig = sobol_tornado(_sobol_table(), "citizens_started")
    texts = " ".join(t.get_text() for t in fig.texts)
    assert CLIP_NOTE in texts and "(imprecise)" in texts
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "eligible_share (imprecise)" in labels and "tight_small" in labels
    plt.close(fig)
    tight = _sobol_table().assign(ST_conf=0.01, S1_conf=0.01)
    fig = sobol_tornado(tight, "citizens_started")
    assert CLIP_NOTE not in " ".join(t.get_text() for t in fig.texts)
    plt.close(fig)
