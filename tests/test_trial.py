"""The randomised trial (``scenario=trial``): allocation, the trial process in the model, the
statistics of the primary outcome and the outputs; over many seeds (slow) the published result.

The trial runs are shared (session fixtures, three simulated years: recruitment closes after about
two years and every participant is measured well before the end).
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pandas as pd
import pytest
from conftest import REPO, assert_one_line_naming

from peersim import ConfigError, load_config, run
from peersim.citizen import CitizenState
from peersim.model import PeersimModel
from peersim.trial import PEER, SAU, BlockRandomiser, compare_arms, trial_summary, trial_table

TRIAL_KEYS = ("trial_n_peer", "trial_n_sau", "trial_qpr_mean_peer", "trial_qpr_mean_sau", "trial_qpr_difference",
              "trial_qpr_difference_ci_low", "trial_qpr_difference_ci_high", "trial_cohens_d", "trial_qpr_sd")


@pytest.fixture(scope="session")
def trial_run(make_params):
    return run(make_params("scenario=trial", "years=3", "output.charts=false", seed=1))


@pytest.fixture(scope="session")
def trial_model(make_params):
    """A trial stepped week by week, checking the control arm never meets the programme."""
    model = PeersimModel(make_params("scenario=trial", "years=3", seed=2), make_agents=False)
    reg = model.citizens
    while model.week < model.weeks:
        model.step()
        n = reg.n
        sau = reg.arm[:n] == SAU
        assert not np.any(sau & np.isin(reg.state[:n], [CitizenState.WAITING, CitizenState.IN_COURSE,
                                                        CitizenState.COMPANIONSHIP])), (
            f"week {model.week}: a control citizen is waiting, in a course or in companionship")
        assert not np.any(sau & (reg.ti_start[:n] >= 0)), f"week {model.week}: a control citizen started a course"
    return model


def trial_citizens(result):
    c = result.citizens
    return c[c["trial_arm"].notna()]


# ---------------------------------------------------------------------------------------------
# Statistics: a hand-computed example
# ---------------------------------------------------------------------------------------------

PEER_X = [40.0, 35.0, 30.0, 45.0]        # mean 37.5, squared deviations 6.25+6.25+56.25+56.25 = 125, var 125/3
SAU_Y = [30.0, 32.0, 28.0, 34.0, 26.0]   # mean 30.0, squared deviations 0+4+4+16+16 = 40, var 40/4 = 10


def test_difference_and_cohens_d_by_hand():
    c = compare_arms(PEER_X, SAU_Y)
    assert (c.n_peer, c.n_sau) == (4, 5)
    assert c.mean_peer == pytest.approx(37.5) and c.mean_sau == pytest.approx(30.0)
    assert c.difference == pytest.approx(7.5)
    assert c.sd_peer == pytest.approx(math.sqrt(125 / 3)) and c.sd_sau == pytest.approx(math.sqrt(10))
    # pooled variance ((4-1)*125/3 + (5-1)*10) / (4+5-2) = 165/7
    assert c.sd_pooled == pytest.approx(math.sqrt(165 / 7))
    assert c.cohens_d == pytest.approx(7.5 / math.sqrt(165 / 7))   # 1.5448
    assert c.cohens_d == pytest.approx(1.5448, abs=1e-4)


def test_pooled_t_interval_by_hand():
    c = compare_arms(PEER_X, SAU_Y, method="pooled")
    se = math.sqrt(165 / 7) * math.sqrt(1 / 4 + 1 / 5)           # 3.25687
    t7 = 2.364624                                                  # t(0.975, 7 df), statistical tables
    assert c.df == 7
    assert c.ci_low == pytest.approx(7.5 - t7 * se, abs=1e-5)      # -0.2013
    assert c.ci_high == pytest.approx(7.5 + t7 * se, abs=1e-5)     # 15.2013


def test_welch_t_interval_by_hand():
    c = compare_arms(PEER_X, SAU_Y, method="welch")
    a, b = (125 / 3) / 4, 10 / 5                                   # variance of each mean
    df = (a + b) ** 2 / (a**2 / 3 + b**2 / 4)                      # Welch-Satterthwaite: 4.1479
    assert c.df == pytest.approx(df) and c.df == pytest.approx(4.1479, abs=1e-4)
    half = (c.ci_high - c.ci_low) / 2
    assert c.ci_low + half == pytest.approx(7.5)
    # between the t(0.975) quantiles of 4 and 5 df (2.776 and 2.571), times the standard error
    assert 2.571 * math.sqrt(a + b) < half < 2.776 * math.sqrt(a + b)


def test_mean_interval_and_missing_values():
    c = compare_arms([*PEER_X, float("nan")], SAU_Y)
    assert c.n_peer == 4, "NaN outcomes are left out"
    lo, hi = c.ci_mean_sau
    t4 = 2.776445                                                  # t(0.975, 4 df)
    assert (lo, hi) == pytest.approx((30 - t4 * math.sqrt(10 / 5), 30 + t4 * math.sqrt(10 / 5)), abs=1e-5)


def test_statistics_of_too_few_values_are_nan_not_errors():
    c = compare_arms([37.0], [])
    assert c.n_peer == 1 and c.n_sau == 0
    assert all(math.isnan(v) for v in (c.mean_sau, c.difference, c.cohens_d, c.ci_low, c.sd_pooled))
    with pytest.raises(ValueError, match="welch"):
        compare_arms(PEER_X, SAU_Y, method="bayes")


def test_welch_and_pooled_agree_for_equal_arms():
    rng = np.random.default_rng(0)
    x, y = rng.normal(37, 12, 150), rng.normal(32, 12, 150)
    w, p = compare_arms(x, y, method="welch"), compare_arms(x, y, method="pooled")
    assert w.difference == p.difference
    assert w.ci_low == pytest.approx(p.ci_low, abs=0.02) and w.ci_high == pytest.approx(p.ci_high, abs=0.02)


def test_table_puts_published_next_to_simulated(make_params):
    published = make_params().trial.published
    c = compare_arms(PEER_X, SAU_Y)
    t = trial_table(c, published).set_index("figure")
    assert t.loc["qpr_difference", "simulated"] == pytest.approx(7.5)
    assert t.loc["qpr_difference", "published"] == published.qpr_difference == 5.1
    assert (t.loc["qpr_difference", "published_ci_low"], t.loc["qpr_difference", "published_ci_high"]) == (2.4, 7.8)
    assert t.loc["cohens_d", "published"] == 0.43
    assert t.loc["qpr_sd", "published"] == pytest.approx(5.1 / 0.43)
    assert (t.loc["n_peer", "published"], t.loc["n_sau", "published"]) == (145, 151)
    assert t["source"].str.contains("10.1186/s12888-025-07011-y").all()
    assert trial_summary(c)["trial_qpr_difference"] == pytest.approx(7.5)


# ---------------------------------------------------------------------------------------------
# Allocation
# ---------------------------------------------------------------------------------------------

def test_permuted_blocks_are_balanced_per_stratum():
    r = BlockRandomiser([2, 4, 6], n_strata=3, rng=np.random.default_rng(1))
    seqs = [np.concatenate([r.allocate(s, k) for k in (1, 5, 2, 7, 3)]) for s in range(3)]
    for seq in seqs:
        assert set(np.unique(seq)) <= {PEER, SAU}
        running = np.cumsum(np.where(seq == PEER, 1, -1))
        assert np.abs(running).max() <= 3, "imbalance beyond half the largest block"
    fixed = BlockRandomiser([4], n_strata=1, rng=np.random.default_rng(2)).allocate(0, 296)
    assert (fixed == PEER).sum() == 148, "complete blocks of 4 give exactly 1:1"
    assert all((fixed[i:i + 4] == PEER).sum() == 2 for i in range(0, 296, 4))


def test_allocation_is_random_and_reproducible():
    a = BlockRandomiser([2, 4, 6], 1, np.random.default_rng(5)).allocate(0, 200)
    b = BlockRandomiser([2, 4, 6], 1, np.random.default_rng(5)).allocate(0, 200)
    c = BlockRandomiser([2, 4, 6], 1, np.random.default_rng(6)).allocate(0, 200)
    assert (a == b).all() and not (a == c).all()
    with pytest.raises(ValueError):
        BlockRandomiser([3], 1, np.random.default_rng(0))


# ---------------------------------------------------------------------------------------------
# The trial in the model
# ---------------------------------------------------------------------------------------------

def test_the_five_trial_municipalities_each_with_its_own_coordinator(make_params):
    p = make_params("scenario=trial")
    assert {m.name for m in p.municipalities} == {"copenhagen", "helsingor", "fredericia", "rodovre", "gladsaxe"}
    assert len({m.coordinator_group for m in p.municipalities}) == 5
    assert p.course.sessions == 10 and p.scenario.implementation == "local_coordinator"
    # the core's calibrated defaults, not trial-only values
    default = make_params()
    for group in ("recovery", "fidelity", "companionship", "volunteers", "referral"):
        assert getattr(p, group) == getattr(default, group), f"scenario=trial changes {group}"
    assert {k: v for k, v in vars(p.course).items() if k != "sessions"} == {
        k: v for k, v in vars(default.course).items() if k != "sessions"}
    other = make_params("scenario=trial", "municipality=kolding")
    assert [m.name for m in other.municipalities][0] == "kolding" and len(other.municipalities) == 6


def test_exactly_the_target_is_randomised_and_recruitment_then_stops(trial_run):
    s, c = trial_run.summary, trial_run.citizens
    rand = trial_citizens(trial_run)
    assert len(rand) == s["trial_randomised"] == 296
    assert s["trial_n_peer"] + s["trial_n_sau"] == 296
    assert s["trial_recruitment_complete"] is True
    # stratified blocks of at most 6: each site within 3 of 1:1
    for site, g in rand.groupby("municipality", observed=True):
        assert abs((g["trial_arm"] == "peer").sum() - (g["trial_arm"] == "sau").sum()) <= 3, site
    closed = rand["ti_randomised"].max()
    later = c[c["ti_referred"] > closed]
    assert len(later) > 0, "after the trial the sites go on with the programme as usual"
    assert later["trial_arm"].isna().all(), "a citizen was randomised after recruitment closed"
    # recruitment takes about 22 months (7 Dec 2020 - 16 Oct 2022): a single seed within a few months
    assert 70 <= s["trial_recruitment_weeks"] <= 125


def test_complete_blocks_give_exact_one_to_one(make_params):
    model = PeersimModel(make_params("scenario=trial", "years=3", "trial.block_sizes=[4]",
                                     "trial.stratify_by_site=false", seed=3), make_agents=False)
    while model.trial.open:
        model.step()
    arm = model.citizens.arm[: model.citizens.n]
    assert ((arm == PEER).sum(), (arm == SAU).sum()) == (148, 148)


def test_control_arm_never_meets_the_programme(trial_model, trial_run):
    reg, n = trial_model.citizens, trial_model.citizens.n
    sau = reg.arm[:n] == SAU
    assert sau.sum() > 100
    assert (reg.state[:n][sau] == CitizenState.CONTROL).all()
    assert not reg.companion[:n][sau].any() and (reg.sessions[:n][sau] == 0).all()
    reg.evaluate()  # the scores are computed when asked for
    assert (reg.effect[:n][sau] == 0).all() and (reg.effect[:n][~sau] > 0).any()
    ctrl = trial_citizens(trial_run).query("trial_arm == 'sau'")
    assert not ctrl["started"].any() and ctrl["course_id"].isna().all() and not ctrl["companionship"].any()
    assert (ctrl["qpr_trial"] == ctrl["qpr_cf_trial"]).all(), "a control has a programme effect"


def test_every_randomised_citizen_is_measured_once_intention_to_treat(trial_run):
    rand = trial_citizens(trial_run)
    assert trial_run.summary["trial_n_unmeasured"] == 0
    assert rand["ti_trial_measured"].notna().all() and rand["qpr_trial"].notna().all()
    assert rand["qpr_trial"].between(0, 60).all()
    peer = rand[rand["trial_arm"] == "peer"]
    # intention to treat: those who never started, dropped out or declined are measured too
    assert set(peer["state"].astype(str)) >= {"done", "dropped_out"}
    assert (~peer["started"]).sum() > 0 and peer.loc[~peer["started"], "qpr_trial"].notna().all()
    assert trial_run.summary["trial_n_peer"] == len(peer)
    not_rand = trial_run.citizens[trial_run.citizens["trial_arm"].isna()]
    assert not_rand["ti_trial_measured"].isna().all() and not_rand["qpr_trial"].isna().all()


def test_measured_at_the_end_of_the_course(trial_run, make_params):
    sessions = make_params("scenario=trial").course.sessions
    rand, courses = trial_citizens(trial_run), trial_run.courses
    peer = rand[(rand["trial_arm"] == "peer") & rand["started"]]
    assert (peer["ti_trial_measured"] == peer["ti_start"] + sessions - 1).all()
    completed = peer[peer["completed"] & (peer["state"] != "dropped_out")]
    assert np.allclose(completed["qpr_trial"], completed["qpr_end_course"]), "end of course = qpr_end_course"
    # a control is measured when the first course that starts in its site after its randomisation ends
    for _, row in rand[rand["trial_arm"] == "sau"].iterrows():
        site = courses[(courses["municipality"] == row["municipality"]) & (courses["start_week"] >= row["ti_randomised"])]
        assert row["ti_trial_measured"] == site["start_week"].min() + sessions - 1


def test_trial_outputs_summary_table_and_files(trial_run, out_dir):
    s = trial_run.summary
    for key in TRIAL_KEYS:
        assert isinstance(s[key], int | float), key
    assert s["trial_qpr_difference"] == pytest.approx(s["trial_qpr_mean_peer"] - s["trial_qpr_mean_sau"])
    assert s["trial_qpr_difference_ci_low"] < s["trial_qpr_difference"] < s["trial_qpr_difference_ci_high"]
    assert s["trial_cohens_d"] == pytest.approx(s["trial_qpr_difference"] / s["trial_qpr_sd"])
    rand = trial_citizens(trial_run)
    c = compare_arms(rand.loc[rand["trial_arm"] == "peer", "qpr_trial"], rand.loc[rand["trial_arm"] == "sau", "qpr_trial"])
    assert s["trial_qpr_difference"] == pytest.approx(c.difference)
    table = trial_run.extra_tables["trial"].set_index("figure")
    assert table.loc["qpr_difference", "simulated"] == pytest.approx(s["trial_qpr_difference"])
    assert table.loc["qpr_difference", "published"] == 5.1
    assert "economics_mode" in s and s["cost_total_dkk"] > 0, "economics runs in the trial scenario"
    trial_run.write(out_dir, charts=False)
    for name in ("trial.csv", "trial.parquet"):
        assert (out_dir / name).is_file(), name
    back = pd.read_parquet(out_dir / "trial.parquet")
    pd.testing.assert_frame_equal(back, trial_run.extra_tables["trial"])
    assert pd.read_csv(out_dir / "trial.csv")["figure"].tolist() == back["figure"].tolist()


def test_trial_chart(trial_run):
    from peersim.charts import trial_outcome

    fig = trial_outcome(trial_run.citizens, trial_run.extra_tables["trial"], "seed 1")
    left, right = fig.axes
    assert "QPR-15" in left.get_xlabel() and left.get_ylabel() == "Participants"
    assert "Difference" in right.get_xlabel()
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_published_values_come_from_the_configuration(make_params, trial_run):
    """The published column is read from trial.published (conf), never from the simulation."""
    from peersim.trial import trial_results

    p = make_params("scenario=trial", "trial.published.qpr_difference=9.9", "trial.published.cohens_d=0.5")
    table, keys = trial_results(trial_run.citizens, p.trial, {"closed_week": None})
    t = table.set_index("figure")
    assert (t.loc["qpr_difference", "published"], t.loc["cohens_d", "published"]) == (9.9, 0.5)
    assert t.loc["qpr_sd", "published"] == pytest.approx(9.9 / 0.5)
    ref = trial_run.extra_tables["trial"].set_index("figure")
    pd.testing.assert_series_equal(t["simulated"], ref["simulated"])
    assert {k: keys[k] for k in TRIAL_KEYS} == {k: trial_run.summary[k] for k in TRIAL_KEYS}


def test_same_seed_same_trial(make_params, trial_run):
    again = run(make_params("scenario=trial", "years=3", "output.charts=false", seed=1))
    assert {k: v for k, v in again.summary.items() if k.startswith("trial_")} == {
        k: v for k, v in trial_run.summary.items() if k.startswith("trial_")}
    pd.testing.assert_frame_equal(again.extra_tables["trial"], trial_run.extra_tables["trial"])


def test_no_enrolment_gives_an_empty_trial_not_an_error(make_params):
    r = run(make_params("scenario=trial", "years=1", "trial.enrolment_share=0", "output.charts=false", seed=1))
    s = r.summary
    assert (s["trial_n_peer"], s["trial_n_sau"], s["trial_randomised"]) == (0, 0, 0)
    assert s["trial_qpr_difference"] is None and s["trial_recruitment_complete"] is False


def test_other_scenarios_have_no_trial(default_run):
    assert not any(k.startswith("trial_") for k in default_run.summary)
    assert "trial" not in default_run.extra_tables
    assert "trial_arm" not in default_run.citizens.columns
    assert "control" not in list(default_run.citizens["state"].cat.categories)


@pytest.mark.parametrize(("overrides", "must_name"), [
    (["scenario=trial", "trial.block_sizes=[3]"], ["trial.block_sizes"]),
    (["scenario=trial", "+trial.site_opening_week.atlantis=3"], ["trial.site_opening_week", "atlantis"]),
    (["scenario=trial", "trial.sites.rodovre.population=-5"], ["trial.sites.rodovre.population"]),
])
def test_bad_trial_input_raises_one_line(overrides, must_name):
    with pytest.raises(ConfigError) as info:
        load_config(overrides)
    assert_one_line_naming(info.value, must_name)


# ---------------------------------------------------------------------------------------------
# Over many seeds: the published trial (slow)
# ---------------------------------------------------------------------------------------------

def _trial_check_module():
    spec = importlib.util.spec_from_file_location("trial_check", REPO / "experiments" / "trial_check.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def many_trials(make_params) -> pd.DataFrame:
    trial_only = _trial_check_module().trial_only
    rows = []
    for seed in range(100):
        rows.append(trial_only(make_params("scenario=trial", "years=3", seed=seed)))
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_difference_centres_in_the_published_ci(many_trials):
    diff = many_trials["trial_qpr_difference"].astype(float)
    assert 2.4 <= diff.mean() <= 7.8, f"mean simulated difference {diff.mean():.2f} outside the published CI 2.4-7.8"
    assert 10.7 <= many_trials["trial_qpr_sd"].mean() <= 13.1, "end-of-course SD not about 12"
    assert (many_trials["trial_n_unmeasured"] == 0).all()


@pytest.mark.slow
def test_cohens_d_centres_near_the_published(many_trials):
    d = many_trials["trial_cohens_d"].astype(float)
    assert 0.33 <= d.mean() <= 0.53, f"mean simulated d {d.mean():.3f} outside 0.33-0.53"
