"""Citizens' recovery, and the event-scheduled parts of the weekly pass.

The scores are computed in one vectorised pass when results are asked for
(:func:`peersim.recovery.evaluate`). These tests hold that pass to a plain week-by-week loop over
each citizen that follows the model's order of events literally, so any shortcut in the vectorised
form that changes a figure fails here. The other tests check the pieces that replaced weekly draws
by draws made once (patience, pause lengths, attendance and dropout, hazard thresholds).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import SHORT_YEARS

from peersim import run
from peersim.citizen import CitizenRegistry, _geometric_weeks
from peersim.model import PeersimModel
from peersim.recovery import innovation_sd, innovations
from peersim.registry import NO_WEEK
from peersim.vocabulary import QPR_MAX
from peersim.volunteer import ON_DUTY, VolunteerState, hazard_thresholds


def _clip(v: float) -> float:
    return min(QPR_MAX, max(0.0, v))


def reference_recovery(reg: CitizenRegistry, until: int) -> dict:
    """The recovery of every citizen, week by week, in the model's order of events:
    step 3 (this week's session adds the dose; the end-of-course record), the start of step 5
    (the trial measurement), then step 5 (fluctuation, decay, success runs, weekly means, the
    26-week record). Scores stay put once follow-up has ended."""
    rp = reg.rp
    rho, sd = rp.weekly_persistence, innovation_sd(rp)
    thr, S = rp.success_improvement_qpr, rp.success_sustain_weeks
    n = reg.n
    t_ref = reg.ti_referred[:n].astype(int)
    last = np.minimum(reg.follow_last[:n], until).astype(int)
    lengths = np.maximum(last - t_ref + 1, 0)
    eps = innovations(reg, 0, n, np.maximum(lengths, 1))
    out = {k: np.full(n, np.nan) for k in ("qpr_end", "qpr_cf_end", "qpr_26w", "qpr_cf_26w",
                                           "qpr_trial", "qpr_cf_trial", "x_cf", "effect")}
    out["ti_success"] = np.full(n, NO_WEEK)
    sums = np.zeros((3, until + 1))
    for i in range(n):
        base, mu, gain = reg.baseline[i], reg.mu[i], float(reg.gain[i])
        ts, te = int(reg.ti_start[i]), int(reg.ti_course_end[i])
        tm = int(reg.ti_measured[i]) if reg.trial else NO_WEEK
        bits, comp_until, m = int(reg.attended[i]), int(reg.comp_until[i]), int(reg.municipality[i])
        x, effect, run_f, run_cf = base, 0.0, 0, 0
        for t in range(t_ref[i], last[i] + 1):
            if ts != NO_WEEK and t >= ts and (bits >> (t - ts)) & 1:
                effect += gain
            if t == te:
                out["qpr_end"][i], out["qpr_cf_end"][i] = _clip(x + effect), _clip(x)
            if t == tm:
                out["qpr_trial"][i], out["qpr_cf_trial"][i] = _clip(x + effect), _clip(x)
            x = mu + rho * (x - mu) + sd * eps[t - t_ref[i], i]
            if te != NO_WEEK and t >= te:
                slow = comp_until > t and reg.workshops[t, m]
                effect *= 1.0 - (rp.decay_per_week_companionship if slow else rp.decay_per_week)
            if ts != NO_WEEK and t >= ts:
                run_f = run_f + 1 if x - base + effect >= thr else 0
                run_cf = run_cf + 1 if x - base >= thr else 0
                if out["ti_success"][i] == NO_WEEK and run_f >= S and run_cf < S:
                    out["ti_success"][i] = t
                sums[:, t] += (_clip(x + effect), _clip(x), 1)
            if te != NO_WEEK and t == te + 26:
                out["qpr_26w"][i], out["qpr_cf_26w"][i] = _clip(x + effect), _clip(x)
        if tm != NO_WEEK and tm > last[i]:  # measured after follow-up ended (or before it began)
            out["qpr_trial"][i], out["qpr_cf_trial"][i] = _clip(x + effect), _clip(x)
        out["x_cf"][i], out["effect"][i] = x, effect
    out["sums"] = sums
    return out


def _check_against_reference(model: PeersimModel) -> int:
    reg = model.citizens
    weekly = reg.evaluate()
    ref = reference_recovery(reg, model.week)
    n = reg.n
    for col in ("qpr_end", "qpr_cf_end", "qpr_26w", "qpr_cf_26w", "x_cf", "effect"):
        np.testing.assert_allclose(getattr(reg, col)[:n], ref[col], rtol=1e-9, atol=1e-9, equal_nan=True,
                                   err_msg=f"{col} differs from the week-by-week reference")
    if reg.trial:
        for col in ("qpr_trial", "qpr_cf_trial"):
            np.testing.assert_allclose(getattr(reg, col)[:n], ref[col], rtol=1e-9, atol=1e-9, equal_nan=True,
                                       err_msg=f"{col} differs from the week-by-week reference")
    np.testing.assert_array_equal(reg.ti_success[:n], ref["ti_success"], err_msg="success weeks differ")
    np.testing.assert_array_equal(reg.success[:n], ref["ti_success"] != NO_WEEK)
    s = ref["sums"]
    np.testing.assert_array_equal(weekly.n_followed, s[2])
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(weekly.qpr_mean, s[0] / s[2], rtol=1e-9, equal_nan=True)
        np.testing.assert_allclose(weekly.qpr_cf_mean, s[1] / s[2], rtol=1e-9, equal_nan=True)
    return int(reg.success[:n].sum())


@pytest.mark.parametrize("overrides", [
    (f"years={SHORT_YEARS}",),
    ("scenario=partnership", f"years={SHORT_YEARS}"),
    ("years=2", "course.dropout_per_session=0.15", "recovery.follow_up_weeks=20",
     "recovery.success_sustain_weeks=6"),  # many dropouts, follow-up ending inside the run
])
def test_vectorised_recovery_equals_the_week_by_week_process(make_params, overrides):
    model = PeersimModel(make_params(*overrides, seed=8), make_agents=False)
    model.run()
    successes = _check_against_reference(model)
    if "years=2" not in overrides:
        assert successes > 0, "no success: the success comparison is vacuous"


def test_trial_measurements_equal_the_week_by_week_process(make_params):
    model = PeersimModel(make_params("scenario=trial", "years=3", seed=2), make_agents=False)
    while model.week < 100:
        model.step()
    _check_against_reference(model)
    assert (model.citizens.ti_measured[: model.citizens.n] >= 0).sum() > 100


def test_evaluating_mid_run_gives_the_same_history_as_evaluating_later(make_params):
    """What happened up to week 80 does not change when the run goes on (and asking mid-run
    does not disturb the run)."""
    p = make_params(f"years={SHORT_YEARS}", seed=6)
    model = PeersimModel(p, make_agents=False)
    for _ in range(80):
        model.step()
    early = model.citizens.evaluate()
    early_success = model.citizens.ti_success[: model.citizens.n].copy()
    model.run()
    late = model.citizens.evaluate()
    np.testing.assert_allclose(late.qpr_mean[:81], early.qpr_mean, equal_nan=True)
    np.testing.assert_array_equal(late.n_followed[:81], early.n_followed)
    np.testing.assert_array_equal(late.new_successes[:81], early.new_successes)
    reached = early_success != NO_WEEK
    assert (model.citizens.ti_success[: len(early_success)][reached] == early_success[reached]).all()
    untouched = PeersimModel(p, make_agents=False)
    untouched.run()
    assert untouched.timeseries().equals(model.timeseries()), "evaluating mid-run changed the run"


def test_a_citizens_fluctuation_does_not_depend_on_how_long_others_are_followed(make_params):
    model = PeersimModel(make_params("years=1", seed=3), make_agents=False)
    model.run()
    reg = model.citizens
    n = min(reg.n, 200)
    assert n >= 20
    short = innovations(reg, 0, n, np.full(n, 30))
    long_ = innovations(reg, 0, n, np.r_[np.full(n // 2, 30), np.full(n - n // 2, 90)])
    np.testing.assert_array_equal(short, long_[:30])
    other_model = PeersimModel(make_params("years=1", seed=4), make_agents=False)
    other_model.run()
    other = other_model.citizens
    assert not np.array_equal(innovations(other, 0, n, np.full(n, 30)), short)


def test_agent_qpr_is_the_registry_score_now(make_params):
    model = PeersimModel(make_params("years=1", seed=2))
    for _ in range(30):
        model.step()
    from peersim.citizen import Citizen
    agents = list(model.agents_by_type[Citizen])
    reg = model.citizens
    reg.evaluate()
    started = [a for a in agents if reg.ti_start[a.idx] != NO_WEEK]
    assert started
    for a in started[:20]:
        assert a.qpr == pytest.approx(_clip(reg.x_cf[a.idx] + reg.effect[a.idx]))
        assert a.qpr_counterfactual == pytest.approx(_clip(reg.x_cf[a.idx]))


# -- draws made once instead of every week ------------------------------------------------------
@pytest.mark.parametrize("hazard", [0.02, 0.3, 0.9])
def test_geometric_waits_have_the_weekly_hazard(hazard):
    u = 1.0 - np.random.default_rng(1).random(400_000)
    g = _geometric_weeks(u, hazard)
    for k in (0, 1, 3, 10):
        assert np.mean(g >= k) == pytest.approx((1 - hazard) ** k, abs=4e-3)
    assert (_geometric_weeks(u, 0.0) > 10**9).all() and (_geometric_weeks(u, 1.0) == 0).all()


def test_hazard_thresholds_decide_exactly_as_the_weekly_probabilities(make_params):
    vp = make_params().volunteers
    u = np.random.default_rng(5).random((2, 20_000))
    burn, exit_ = hazard_thresholds(vp, u)
    for s in np.linspace(0.0, 2.0, 41):
        p_burn = vp.burnout_hazard_max_per_week / (1.0 + math.exp((vp.burnout_threshold - s) / vp.burnout_steepness))
        p_exit = 1.0 - math.exp(-(vp.exit_rate_per_year + vp.exit_rate_strain_per_year * s) / 52.0)
        by_prob = np.c_[u[0] < p_burn, u[1] < p_exit]
        by_threshold = np.c_[s > burn, s > exit_]
        near = (np.abs(u[0] - p_burn) < 1e-12) | (np.abs(u[1] - p_exit) < 1e-12)
        assert (by_prob[~near] == by_threshold[~near]).all(), f"strain {s}"


def test_pause_lengths_are_geometric_with_the_mean_pause(make_params):
    """A burn-out in week w ends its pause in week w + 1 + G, G ~ Geometric(1 / mean pause)."""
    from peersim.volunteer import VolunteerRegistry

    vp = make_params().volunteers
    vp.burnout_hazard_max_per_week, vp.burnout_threshold = 1.0, 0.0
    reg = VolunteerRegistry(vp, seed=3)
    rows = reg.add(20_000, 0, 0)
    reg.set_state(rows, VolunteerState.AVAILABLE)
    reg.strain[rows] = 50.0
    out = reg.step(1, [1.0])
    assert out.burned.size == rows.size
    weeks = np.concatenate([np.full(sum(len(r) for r in lists), w) for w, lists in reg._pause_ends.items()])
    pause = weeks - 1
    assert pause.min() == 1
    assert pause.mean() == pytest.approx(vp.pause_mean_weeks, rel=0.03)
    assert np.mean(pause > 5) == pytest.approx((1 - 1 / vp.pause_mean_weeks) ** 5, abs=0.01)


def test_dropout_per_session_matches_its_probability(make_params):
    """Dropouts / participant-sessions at risk = dropout_per_session (each participant is at
    risk at every session until they drop out or their course ends)."""
    p = make_params("years=5", seed=8)
    p.course.dropout_per_session = 0.05
    model = PeersimModel(p, make_agents=False)
    model.run()
    reg = model.citizens
    at_risk = dropped = 0
    for c in model.courses:
        for row in c.participants:
            end = int(reg.ti_course_end[row])
            end = c.start_week + c.sessions_held - 1 if end == NO_WEEK else end
            at_risk += end - c.start_week + 1
            dropped += int(reg.state[row] == 6)  # DROPPED_OUT
    assert at_risk > 3000
    sd = math.sqrt(0.05 * 0.95 / at_risk)
    assert abs(dropped / at_risk - 0.05) < 4 * sd, f"dropout per session {dropped / at_risk:.4f}"


@pytest.mark.parametrize("case", ["local_coordinator", "partnership", "shared", "two_coordinators"])
def test_counts_kept_by_state_changes_match_a_recount_every_week(make_params, case):
    """Volunteers by coordinator and state, the waiting lists, citizens in a course or in
    companionship and each coordinator's running courses are kept as things happen; they must
    equal a recount every week."""
    from test_model import _kolding_with_its_own_coordinator

    from peersim.citizen import CitizenState

    overrides = {"local_coordinator": ["scenario=local_coordinator"], "partnership": ["scenario=partnership"],
                 "shared": ["shared_with=[kolding]"], "two_coordinators": []}[case]
    params = make_params(*overrides, f"years={SHORT_YEARS}", seed=2)
    if case == "two_coordinators":
        params = _kolding_with_its_own_coordinator(params)
    model = PeersimModel(params, make_agents=False)
    assert len(model.coordinator_list) == (2 if case == "two_coordinators" else 1)
    while model.week < model.weeks:
        model.step()
        reg, week = model.citizens, model.week
        st = reg.state[: reg.n]
        waiting = np.bincount(reg.municipality[: reg.n][st == CitizenState.WAITING], minlength=len(reg.waiting_n))
        np.testing.assert_array_equal(reg.waiting_n, waiting)
        assert reg.waiting_total == waiting.sum()
        assert reg.in_course_n == np.count_nonzero(st == CitizenState.IN_COURSE)
        assert reg.comp_n == np.count_nonzero(reg.comp_until[: reg.n] > week)
        for c in model.coordinator_list:
            assert c.n_running == sum(1 for course in model.running_courses if course.coordinator == c.index)
        v = model.volunteers
        by = np.bincount(v.coordinator[: v.n].astype(int) * len(VolunteerState) + v.state[: v.n],
                         minlength=v.n_coordinators * len(VolunteerState)).reshape(-1, len(VolunteerState))
        assert v.counts()[:-1] == by.tolist() and v.totals() == by.sum(axis=0).tolist()
        np.testing.assert_array_equal(v.on_duty(), np.flatnonzero(np.isin(v.state[: v.n], ON_DUTY)))
        np.testing.assert_array_equal(v.leading(), np.flatnonzero(v.state[: v.n] == VolunteerState.LEADING))


def test_own_recovery_setback_is_regained_by_the_weekly_share(make_params):
    """After one burnout in week w the setback left at the end of the run (week T) is
    setback x (1 - regain)^(T - w)."""
    p = make_params("years=5", seed=2)
    p.volunteers.burnout_threshold = 0.3  # more burnouts
    r = run(p, economics=False)
    v, vp = r.volunteers, p.volunteers
    once = v[v["n_burnouts"] == 1]
    assert len(once) >= 5 and (v["n_burnouts"] == 0).any()
    expected = vp.own_recovery_setback_qpr * (1 - vp.own_recovery_regain_per_week) ** (
        p.weeks - once["ti_last_burnout"].astype(float))
    np.testing.assert_allclose(once["own_recovery_setback_qpr"], expected, rtol=1e-12)
    assert (v.loc[v["n_burnouts"] == 0, "own_recovery_setback_qpr"] == 0).all()
    twice = v[v["n_burnouts"] >= 2]
    assert (twice["own_recovery_setback_qpr"] > vp.own_recovery_setback_qpr
            * (1 - vp.own_recovery_regain_per_week) ** (p.weeks - twice["ti_last_burnout"].astype(float)) - 1e-12).all()


def test_the_26_week_record_belongs_to_those_followed_26_weeks_after_their_course(default_run):
    """Recorded exactly for the citizens whose course ended at least 26 weeks before the end of
    the run (never for one who has not started or whose course ended later)."""
    cit, weeks = default_run.citizens, default_run.params.weeks
    ended = cit["ti_course_end"].astype(float)
    due = ended.notna() & (ended + 26 <= weeks)
    assert due.sum() > 50 and (~due & cit["started"]).sum() > 10
    assert cit.loc[due, "qpr_26w"].notna().all() and cit.loc[due, "qpr_cf_26w"].notna().all()
    assert cit.loc[~due, "qpr_26w"].isna().all() and cit.loc[~due, "qpr_cf_26w"].isna().all()
