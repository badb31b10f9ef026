"""The named settings for decisions: recovery=scale_up (the programme's effect at scale) and
economics=no_health_savings (no SØM health savings, the contract's less_psychiatry target pays nothing)."""

from __future__ import annotations

import numpy as np
import pytest

from peersim import load_config
from peersim.economics import expected, load_default_params
from peersim.simulate import run
from peersim.vocabulary import QPR_MAX

BASE = ["municipality=fredericia", "years=4", "seed=3", "output.charts=false"]


@pytest.fixture(scope="module")
def runs():
    """The same seed at effect scales 1 (the trial), 0.47 (recovery=scale_up) and 0."""
    return {s: run(BASE + [f"recovery.effect_scale={s}"]) for s in (1.0, 0.47, 0.0)}


def test_scale_up_is_the_default_recovery_with_the_meta_analysis_over_the_trial():
    cfg = load_config(["recovery=scale_up"])
    default = load_config([])
    assert cfg.recovery.effect_scale == 0.47 == pytest.approx(0.20 / 0.43, abs=0.005)
    assert default.recovery.effect_scale == 1.0
    for name in ("effect_full_dose_qpr", "success_improvement_qpr", "decay_per_week", "baseline_qpr_sd"):
        assert getattr(cfg.recovery, name) == getattr(default.recovery, name)


def test_effect_scale_one_is_the_default_run_exactly(runs):
    default = run(BASE)
    assert default.summary == runs[1.0].summary
    assert default.citizens.equals(runs[1.0].citizens)


def test_effect_scale_changes_only_the_effect_and_scales_it_linearly(runs):
    one, part = runs[1.0].citizens, runs[0.47].citizens
    # who is referred, starts, attends and completes does not depend on anybody's score
    for col in ("started", "completed", "sessions_attended", "ti_start", "ti_exit", "qpr_baseline",
                "qpr_cf_end_course"):
        assert part[col].equals(one[col]), col
    measured = one["qpr_effect_end_course"].notna()
    effect_one, effect_part = one.loc[measured, "qpr_effect_end_course"], part.loc[measured, "qpr_effect_end_course"]
    assert (effect_part <= effect_one + 1e-12).all()
    # the scores are clipped to the scale (0-60): away from its ends the effect is scaled exactly
    inside = measured & (one["qpr_end_course"] < QPR_MAX) & (one["qpr_cf_end_course"] > 0)
    assert inside.sum() > 50
    assert np.allclose(part.loc[inside, "qpr_effect_end_course"], 0.47 * one.loc[inside, "qpr_effect_end_course"])


def test_a_smaller_effect_never_gives_more_successes_or_savings(runs):
    s1, s47, s0 = (runs[s].summary for s in (1.0, 0.47, 0.0))
    assert s1["successes"] > s47["successes"] > s0["successes"] == 0
    # every success at the smaller effect is also a success at the trial's effect
    won = runs[0.47].citizens["success"].to_numpy()
    assert not (won & ~runs[1.0].citizens["success"].to_numpy()).any()
    assert s1["savings_total_dkk"] > s47["savings_total_dkk"] > s0["savings_total_dkk"] == 0
    assert s1["municipal_payments_dkk"] >= s47["municipal_payments_dkk"] >= s0["municipal_payments_dkk"]


def test_a_negative_effect_scale_is_refused_with_one_line():
    from peersim.validation import ConfigError

    with pytest.raises(ConfigError, match=r"recovery\.effect_scale") as err:
        load_config(["recovery.effect_scale=-0.5"])
    assert "\n" not in str(err.value)


# -- economics=no_health_savings ----------------------------------------------------------------

def test_no_health_savings_zeroes_the_health_area_and_the_less_psychiatry_target():
    p = load_default_params(option="no_health_savings")
    d = load_default_params()
    for g in ("significant", "reduced", "mild"):
        assert getattr(p.savings.per_success_dkk, g).health == 0
        assert getattr(p.savings.per_success_dkk, g).social == getattr(d.savings.per_success_dkk, g).social
    assert p.contract.targets["less_psychiatry"].share == 0.0
    assert p.discount == d.discount


def test_no_health_savings_in_expected_mode_by_hand():
    """Standard offer, 240 citizens, 8% success, 25% significant / 50% reduced: without health the saving per
    success is 215,149 + 6,964 (significant) and 45,455 + 47,490 (reduced). The municipality pays the prices of
    personal_recovery and life_satisfaction only (weights 0.5 + 0.25 of the amount to repay)."""
    with_health = expected(load_default_params({"mode": "expected"})).summary
    s = expected(load_default_params({"mode": "expected"}, option="no_health_savings")).summary
    gross = 240 * 0.08 * (0.25 * (215_149 + 6_964) + 0.50 * (45_455 + 47_490))
    assert s["savings_gross_dkk"] == pytest.approx(gross)
    assert s["savings_per_citizen_dkk"] == pytest.approx(gross / 240 * 1.035 ** (-37 / 52))
    assert s["municipal_payments_dkk"] == pytest.approx(0.75 * with_health["municipal_payments_dkk"])
    assert s["fund_net_dkk"] == pytest.approx(-0.25 * with_health["municipal_payments_dkk"])
    # the figures docs/economics.md quotes ("What rests on SØM")
    for key, value in (("savings_per_citizen_dkk", 7_963), ("municipal_cost_per_citizen_dkk", 7_331),
                       ("net_per_citizen_dkk", 632), ("net_municipal_dkk", 151_700), ("fund_net_dkk", -567_463)):
        assert s[key] == pytest.approx(value, abs=1), key
    for key, value in (("savings_per_citizen_dkk", 11_395), ("municipal_cost_per_citizen_dkk", 9_695),
                       ("net_per_citizen_dkk", 1_700), ("net_municipal_dkk", 407_889)):
        assert with_health[key] == pytest.approx(value, abs=1), key


def test_no_health_savings_in_a_run_pays_nothing_for_less_psychiatry(runs):
    from peersim.economics import evaluate

    r = runs[1.0]
    params = load_default_params(option="no_health_savings")
    s = evaluate(r.timeseries, r.citizens, params, weeks=4 * 52, implementation="local_coordinator").summary
    assert r.summary["successes"] > 0
    assert s["achievement_rate_less_psychiatry"] == 0
    assert s["savings_total_dkk"] < r.summary["savings_total_dkk"]
    assert s["municipal_payments_dkk"] < r.summary["municipal_payments_dkk"]


def test_the_named_settings_run_from_the_command_line_config():
    cfg = load_config(["economics=no_health_savings", "recovery=scale_up"])
    assert cfg.recovery.effect_scale == 0.47


@pytest.mark.slow
def test_the_scale_up_figures_quoted_in_docs_model_md():
    """docs/model.md, "The programme's effect, at the trial's size and at scale": Fredericia, 5 years, seeds 0-9."""
    quoted = {
        (): {"successes": 33.3, "savings_total_dkk": 4_362_045, "municipal_payments_dkk": 3_782_138,
             "net_municipal_dkk": 455_198, "net_municipal_budget_dkk": -1_367_222, "fund_net_dkk": -5_309},
        ("recovery=scale_up",): {"successes": 10.4, "savings_total_dkk": 1_300_400, "municipal_payments_dkk": 856_396,
                                 "net_municipal_dkk": 319_295, "net_municipal_budget_dkk": -301_621,
                                 "fund_net_dkk": -2_931_051},
    }
    for extra, figures in quoted.items():
        rows = [run(["municipality=fredericia", "years=5", f"seed={s}", "output.charts=false", *extra]).summary
                for s in range(10)]
        for key, value in figures.items():
            assert np.mean([r[key] for r in rows]) == pytest.approx(value, rel=0.001, abs=1), (extra, key)
