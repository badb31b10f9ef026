"""The simulation core: reproducibility, conservation, course invariants, directions, analytic values.

Parameters are being tuned while these tests are written, so they assert properties that must hold
for any sensible parameter values, not today's numbers (the fixed-seed baseline in
``test_outputs.py`` pins those). Direction tests compare means over several seeds, with common
random numbers (the same seeds on both sides) and contrasts large enough not to be flaky.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pandas as pd
import pytest
from conftest import SHORT_YEARS, cum, mean_over_seeds, step_weeks, stock

from peersim import load_config, run
from peersim.citizen import CitizenState
from peersim.model import PeersimModel
from peersim.reporting import FLOWS
from peersim.volunteer import ON_DUTY, VolunteerState

TABLES = ("timeseries", "citizens", "volunteers", "courses")
VOLUNTEER_STOCKS = [f"n_volunteers_{s.name.lower()}" for s in VolunteerState]


def assert_same_run(a, b) -> None:
    assert a.summary == b.summary, "same config + seed must give the same summary"
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)


# ---------------------------------------------------------------------------------------------
# 1. Reproducibility
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", ["local_coordinator", "partnership"])
def test_same_seed_gives_identical_outputs(make_params, scenario):
    a = run(make_params(f"scenario={scenario}", "years=2", seed=7))
    b = run(make_params(f"scenario={scenario}", "years=2", seed=7))
    assert_same_run(a, b)


def test_outputs_do_not_depend_on_global_random_state_or_earlier_runs(make_params):
    """Same seed => same run, even after another run and after reseeding numpy's and Python's
    global generators (the model must draw only from its own seeded streams)."""
    first = run(make_params("years=2", seed=11))
    run(make_params("years=2", "scenario=partnership", seed=12))
    np.random.seed(12345)
    random.seed(12345)
    again = run(make_params("years=2", seed=11))
    assert_same_run(first, again)


def test_different_seed_gives_different_run(make_params):
    a = run(make_params("years=2", seed=1))
    b = run(make_params("years=2", seed=2))
    assert a.summary["seed"] != b.summary["seed"]
    differing = [k for k in ("citizens_referred", "citizens_started", "citizens_completed",
                             "volunteers_recruited", "qpr_change_mean", "mean_wait_weeks")
                 if a.summary[k] != b.summary[k]]
    assert differing, "seeds 1 and 2 gave the same key figures: is the seed used at all?"
    assert not a.timeseries.equals(b.timeseries), "seeds 1 and 2 gave identical weekly tables"
    assert not a.citizens["qpr_baseline"].head(50).equals(b.citizens["qpr_baseline"].head(50))


def test_common_random_numbers_across_scenarios(make_params):
    """The n-th referred citizen has the same traits in every scenario run with the same seed,
    so scenario differences are paired (streams.py, citizen.py)."""
    a = run(make_params("years=2", seed=5)).citizens
    b = run(make_params("years=2", "scenario=partnership", seed=5)).citizens
    n = min(len(a), len(b))
    assert n > 20, "too few citizens to compare"
    for col in ("subgroup", "qpr_baseline"):
        assert a[col].iloc[:n].tolist() == b[col].iloc[:n].tolist(), (
            f"citizen {col} differs between scenarios with the same seed: traits are not common random numbers"
        )


def test_effect_size_does_not_change_the_counterfactual_world(make_params):
    """The programme effect feeds back into nothing but outcomes: with the effect switched off,
    the same seed gives the same courses, volunteers and service-as-usual trajectories."""
    with_effect = run(make_params("years=2", seed=3))
    p = make_params("years=2", seed=3)
    p.recovery.effect_full_dose_qpr = 0.0
    without = run(p)
    pd.testing.assert_frame_equal(with_effect.courses, without.courses, obj="courses")
    pd.testing.assert_frame_equal(with_effect.volunteers, without.volunteers, obj="volunteers")
    cols = ["state", "sessions_attended", "ti_start", "qpr_baseline", "qpr_cf_end_course", "qpr_cf_26w"]
    pd.testing.assert_frame_equal(with_effect.citizens[cols], without.citizens[cols], obj="citizens")
    pd.testing.assert_series_equal(with_effect.timeseries["qpr_cf_mean_started"],
                                   without.timeseries["qpr_cf_mean_started"])


# ---------------------------------------------------------------------------------------------
# 2. Conservation, checked every week while stepping
# ---------------------------------------------------------------------------------------------

def _kolding_with_its_own_coordinator(params):
    """Add Kolding to the run with a coordinator of its own (``shared_with=[kolding]`` would put it
    under the main municipality's coordinator)."""
    kolding = load_config(["municipality=kolding"]).municipality
    params.extra_municipalities = [dataclasses.replace(kolding, coordinator_group="kolding")]
    return params


def _stress(params):
    """Heavy burnout: leaders are lost mid-course, so replacement and cancellation paths run."""
    params.volunteers.burnout_threshold = 0.25
    params.volunteers.burnout_hazard_max_per_week = 0.5
    params.volunteers.exit_rate_strain_per_year = 5.0
    return params


CONSERVATION_CASES = {
    "default": lambda mp: mp(f"years={SHORT_YEARS}", seed=1),
    "partnership": lambda mp: mp("scenario=partnership", f"years={SHORT_YEARS}", seed=2),
    "copenhagen_stress": lambda mp: _stress(mp("municipality=copenhagen", "years=2", seed=3)),
    "two_municipalities_shared": lambda mp: mp("years=2", "shared_with=[kolding]", seed=4),
}


@pytest.mark.parametrize("case", list(CONSERVATION_CASES))
def test_every_citizen_and_volunteer_is_accounted_for_every_week(make_params, case):
    model = PeersimModel(CONSERVATION_CASES[case](make_params))
    reg, vols = model.citizens, model.volunteers
    S = CitizenState
    for week in step_weeks(model):
        n = reg.n
        states = reg.state[:n]
        assert states.min(initial=0) >= 0 and states.max(initial=0) < len(S), f"week {week}: invalid citizen state"
        c = np.bincount(states, minlength=len(S))
        referred = cum(model, "new_citizens_referred")
        assert n == referred, f"week {week}: {n} citizen rows but {referred} referred"
        stocks = c[S.WAITING] + c[S.IN_COURSE] + c[S.COMPANIONSHIP] + c[S.DONE]
        exits = (cum(model, "new_citizens_declined") + cum(model, "new_citizens_gave_up")
                 + cum(model, "new_citizens_dropped_out"))
        assert stocks + exits == referred, (
            f"week {week}: citizen stocks {stocks} + cumulative exits {exits} != cumulative referred {referred}"
        )
        for state, flow in ((S.DECLINED, "new_citizens_declined"), (S.GAVE_UP, "new_citizens_gave_up"),
                            (S.DROPPED_OUT, "new_citizens_dropped_out")):
            assert c[state] == cum(model, flow), f"week {week}: {state.name} count != cumulative {flow}"
        started = c[S.IN_COURSE] + c[S.COMPANIONSHIP] + c[S.DONE] + c[S.DROPPED_OUT]
        assert started == cum(model, "new_citizens_started"), f"week {week}: started citizens do not add up"
        assert c[S.WAITING] == stock(model, "n_waiting") and c[S.IN_COURSE] == stock(model, "n_in_course")
        waiting_by_m = np.bincount(reg.municipality[:n][states == S.WAITING], minlength=len(reg.waiting_n))
        assert np.array_equal(waiting_by_m, reg.waiting_n), f"week {week}: cached waiting-list lengths drifted"

        vn = vols.n
        assert vn == cum(model, "new_volunteers_recruited"), f"week {week}: volunteer rows != cumulative recruited"
        vc = np.bincount(vols.state[:vn], minlength=len(VolunteerState))
        assert vc.sum() == vn
        assert vc[VolunteerState.LEFT] == cum(model, "new_volunteers_left"), f"week {week}: left != cumulative left"
        assert vols.n_burnouts[:vn].sum() == cum(model, "new_volunteer_burnouts")
        assert vols.n_returns[:vn].sum() == cum(model, "new_volunteer_returns")
        trainees = cum(model, "new_trainees")
        accounted = (cum(model, "new_volunteers_trained") + cum(model, "new_training_dropouts")
                     + vc[VolunteerState.IN_TRAINING])
        assert trainees == accounted, (
            f"week {week}: trainees {trainees} != trained + dropped out + in training {accounted}")
        assert np.count_nonzero(vols.ti_trained[:vn] >= 0) == cum(model, "new_volunteers_trained")
        for state, col in zip(VolunteerState, VOLUNTEER_STOCKS, strict=True):
            assert vc[state] == stock(model, col), f"week {week}: {col} in the weekly table != registry"


@pytest.mark.parametrize("fixture", ["default_run", "partnership_run"])
def test_weekly_volunteer_stocks_add_up_to_cumulative_recruited(request, fixture):
    ts = request.getfixturevalue(fixture).timeseries
    total = ts[VOLUNTEER_STOCKS].sum(axis=1)
    bad = ts.loc[total != ts["cum_volunteers_recruited"], "week"].tolist()
    assert not bad, f"weeks where volunteer stocks != cumulative recruited: {bad[:10]}"
    on_duty = ts[["n_volunteers_available", "n_volunteers_leading", "n_volunteers_resting"]].sum(axis=1)
    assert (ts["n_volunteers_active"] == on_duty).all(), "n_volunteers_active != available + leading + resting"
    assert (ts["n_volunteers_left"] == ts["cum_volunteers_left"]).all(), "n_volunteers_left != cum_volunteers_left"
    assert (ts["n_volunteers_leading"] == 2 * ts["n_courses_running"]).all(), "leaders != 2 x running courses"


@pytest.mark.parametrize("fixture", ["default_run", "partnership_run"])
def test_volunteers_at_the_end_are_in_exactly_one_state(request, fixture):
    res = request.getfixturevalue(fixture)
    s, v = res.summary, res.volunteers
    states = v["state"].value_counts()
    other = sum(int(states.get(k, 0)) for k in ("in_training", "recruited", "burned_out"))
    assert s["volunteers_recruited"] == s["volunteers_active_end"] + other + s["volunteers_left"], (
        f"recruited {s['volunteers_recruited']} != active {s['volunteers_active_end']} + in training/"
        f"awaiting/burned out {other} + left {s['volunteers_left']}"
    )
    assert set(states.index) <= {st.name.lower() for st in VolunteerState}
    assert s["volunteer_burnouts"] == res.timeseries["cum_volunteer_burnouts"].iloc[-1]
    assert s["volunteers_recruited"] == res.timeseries["cum_volunteers_recruited"].iloc[-1]


@pytest.mark.parametrize("fixture", ["default_run", "partnership_run"])
def test_citizens_courses_and_sessions_add_up(request, fixture):
    res = request.getfixturevalue(fixture)
    s, cit, courses, ts = res.summary, res.citizens, res.courses, res.timeseries
    assert s["courses_started"] > 0, "no course started: the check below would be empty"
    assert s["citizens_started"] == int(courses["participants"].sum()), "citizens started != course participants"
    assert s["citizens_started"] == int(ts["cum_citizens_started"].iloc[-1])
    assert s["courses_started"] == len(courses) == int(ts["cum_courses_started"].iloc[-1])
    assert s["citizens_referred"] == len(cit) == int(ts["cum_citizens_referred"].iloc[-1])
    started = cit[cit["started"]]
    held = started["course_id"].astype(int).map(courses.set_index("course_id")["sessions_held"])
    over = started[started["sessions_attended"].to_numpy() > held.to_numpy()]
    assert over.empty, f"citizens attended more sessions than their course held: {over['citizen_id'].tolist()[:10]}"
    assert (cit.loc[~cit["started"], "sessions_attended"] == 0).all(), "citizens who never started attended sessions"
    assert int(cit["sessions_attended"].sum()) == int(ts["cum_attendances"].iloc[-1])
    assert int(courses["sessions_held"].sum()) == int(ts["cum_course_sessions"].iloc[-1])
    assert (courses["sessions_held"] <= res.params.course.sessions).all()
    assert (started.groupby("course_id", observed=True).size() <= res.params.course.max_participants).all()
    assert not (cit["completed"] & ~cit["started"]).any(), "a citizen completed without starting"
    min_sessions = res.params.course.completion_min_share * res.params.course.sessions
    assert (cit.loc[cit["completed"], "sessions_attended"] >= min_sessions).all()
    assert not (cit["success"] & ~cit["started"]).any(), "a success among citizens who never started"
    last = ts.iloc[-1]
    for key, total in (("citizens_completed", "cum_citizens_completed"),
                       ("citizens_declined", "cum_citizens_declined"),
                       ("citizens_gave_up_waiting", "cum_citizens_gave_up"),
                       ("citizens_dropped_out", "cum_citizens_dropped_out"),
                       ("successes", "cum_successes")):
        assert s[key] == int(last[total]), f"summary {key}={s[key]}, weekly table's {total} ends at {last[total]}"
    assert s["citizens_completed"] == int(cit["completed"].sum())


@pytest.mark.parametrize("fixture", ["default_run", "partnership_run"])
def test_every_coordinator_hour_is_accounted_for(request, fixture):
    ts = request.getfixturevalue(fixture).timeseries
    activities = [c for c in ts.columns if c.startswith("hours_") and c != "hours_budget"]
    assert (ts[activities] >= 0).all().all(), "negative hours spent on an activity"
    np.testing.assert_allclose(ts[activities].sum(axis=1), ts["hours_budget"], rtol=1e-9,
                               err_msg="hours spent on activities (idle included) != weekly budget")


def test_weekly_table_has_one_row_per_week_and_consistent_running_totals(default_run):
    ts = default_run.timeseries
    weeks = default_run.params.weeks
    assert len(ts) == weeks and ts["week"].tolist() == list(range(1, weeks + 1))
    for flow in FLOWS:
        total = "cum_" + flow.removeprefix("new_")
        assert (ts[flow] >= 0).all(), f"negative flow {flow}"
        assert (ts[total] == ts[flow].cumsum()).all(), f"{total} is not the running total of {flow}"
    assert (ts[[c for c in ts.columns if c.startswith("n_")]] >= 0).all().all()


# ---------------------------------------------------------------------------------------------
# 3. Course invariants, checked every week while stepping
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", list(CONSERVATION_CASES))
def test_course_invariants_hold_every_week(make_params, case):
    params = CONSERVATION_CASES[case](make_params)
    cp = params.course
    rest = params.volunteers.rest_weeks_after_course
    model = PeersimModel(params)
    vols, reg = model.volunteers, model.citizens
    was_leading = np.zeros(0, dtype=bool)
    finished_at: dict[int, int] = {}  # volunteer -> week their last course ended
    for week in step_weeks(model):
        leading = vols.state[: vols.n] == VolunteerState.LEADING
        was = np.zeros_like(leading)
        was[: was_leading.size] = was_leading
        for v in np.flatnonzero(leading & ~was):
            if int(v) in finished_at:
                gap = week - finished_at[int(v)]
                assert gap >= rest, f"week {week}: volunteer {v} leads again {gap} weeks after a course (rest {rest})"
        for v in np.flatnonzero(was & (vols.state[: vols.n] == VolunteerState.RESTING)):
            finished_at[int(v)] = week
        was_leading = leading
        leaders_now: list[int] = []
        in_course = set(np.flatnonzero(reg.state[: reg.n] == CitizenState.IN_COURSE).tolist())
        enrolled: set[int] = set()
        for c in model.running_courses:
            tag = f"week {week}, course {c.course_id}"
            assert c.running and c.sessions_held <= c.sessions_planned, tag
            assert cp.min_participants_to_start <= c.participants.size <= cp.max_participants, (
                f"{tag}: {c.participants.size} participants, "
                f"allowed {cp.min_participants_to_start}-{cp.max_participants}")
            leaders = c.leaders.tolist()
            assert len(leaders) == cp.leaders_per_course == len(set(leaders)), f"{tag}: leaders {leaders}"
            assert (vols.state[c.leaders] == VolunteerState.LEADING).all(), f"{tag}: a leader is not LEADING"
            assert (vols.course[c.leaders] == c.course_id).all(), f"{tag}: a leader is booked on another course"
            assert (vols.coordinator[c.leaders] == c.coordinator).all(), f"{tag}: a leader of another coordinator"
            assert set(leaders) <= set(c.history), f"{tag}: a leader missing from the course's history"
            leaders_now += leaders
            enrolled |= set(c.participants[reg.state[c.participants] == CitizenState.IN_COURSE].tolist())
            assert (reg.course[c.participants] == c.course_id).all(), f"{tag}: participant booked elsewhere"
        assert len(leaders_now) == len(set(leaders_now)), f"week {week}: a volunteer leads two courses at once"
        assert vols.count(VolunteerState.LEADING) == len(leaders_now), f"week {week}: LEADING without a course"
        assert in_course == enrolled, f"week {week}: IN_COURSE citizens != participants of running courses"
        assert stock(model, "n_courses_running") == len(model.running_courses)
    for c in model.courses:
        assert c.participants.size >= cp.min_participants_to_start, f"course {c.course_id} started too small"
        assert c.running == (c in model.running_courses)
        if not c.running:
            assert c.start_week <= c.end_week <= model.weeks
            assert c.cancelled or c.sessions_held == c.sessions_planned or not (
                reg.state[c.participants] == CitizenState.IN_COURSE).any()
    ended = [c for c in model.courses if not c.running]
    completed_ok = sum(1 for c in ended if not c.cancelled)
    led = int(vols.courses_led[: vols.n].sum())
    assert 2 * completed_ok <= led <= 2 * completed_ok + sum(1 for c in ended if c.cancelled), (
        f"volunteers' courses led ({led}) do not match the {len(ended)} courses that ended"
    )
    if case == "copenhagen_stress":
        assert sum(c.leader_changes for c in model.courses) > 0, "stress case never replaced a leader"
        assert any(c.cancelled for c in model.courses), "stress case never cancelled a course"




@pytest.mark.parametrize("case", [
    c for c in CONSERVATION_CASES
])
def test_running_courses_never_exceed_what_the_coordinators_hours_carry(make_params, case):
    model = PeersimModel(CONSERVATION_CASES[case](make_params))
    for week in step_weeks(model):
        for coord in model.coordinator_list:
            n = sum(1 for c in model.running_courses if c.coordinator == coord.index)
            assert n <= coord.capacity, (
                f"week {week}: coordinator {coord.name} runs {n} courses, its hours carry {coord.capacity}"
            )


# ---------------------------------------------------------------------------------------------
# 4. Directions (means over seeds, common random numbers, large contrasts)
# ---------------------------------------------------------------------------------------------

SEEDS = range(1, 6)


def test_more_coordinator_hours_never_give_fewer_courses(make_params):
    """Copenhagen has far more demand than any of these budgets can serve."""
    ftes = (0.25, 0.5, 1.0, 2.0, 4.0)
    for seed in (1, 2, 3):
        courses = []
        for fte in ftes:
            p = make_params("municipality=copenhagen", "years=2", seed=seed)
            p.coordinator.fte = fte
            r = run(p)
            assert r.summary["citizens_waiting_end"] > 0 or fte == ftes[-1], "demand ran out: not a capacity test"
            courses.append(r.summary["courses_started"])
        assert courses == sorted(courses), f"seed {seed}: courses by fte {dict(zip(ftes, courses, strict=True))}"
        assert courses[-1] > courses[0], f"seed {seed}: 16x the coordinator hours gave no more courses"


def test_while_demand_lasts_courses_grow_with_the_hours_the_budget_carries(make_params):
    """In Copenhagen (hundreds waiting) doubling the hours roughly doubles the courses: a long
    waiting list has several courses in formation at once, so formation is no ceiling of its own."""
    for seed in (1, 2):
        courses, capacity = [], []
        for fte in (1.0, 2.0):
            p = make_params("municipality=copenhagen", "years=2", seed=seed)
            p.coordinator.fte = fte
            model = PeersimModel(p)
            model.run()
            ts = model.timeseries()
            assert model.citizens.waiting_total > 100, "demand ran out: not a capacity test"
            courses.append(len(model.courses))
            capacity.append(model.coordinator_list[0].capacity)
            if fte == 2.0:
                assert ts["n_courses_forming"].max() > 1, "never more than one course in formation"
        assert courses[1] >= 0.8 * courses[0] * capacity[1] / capacity[0], (
            f"seed {seed}: courses {courses} for capacities {capacity}")


def test_coordinator_budget_is_fte_times_productive_hours_and_capacity_grows_with_it(make_params):
    capacities = []
    for fte in (0.15, 0.5, 1.0, 2.5):
        p = make_params("years=1", seed=1)
        p.coordinator.fte = fte
        model = PeersimModel(p)
        coord = model.coordinator_list[0]
        assert coord.budget == pytest.approx(fte * p.coordinator.productive_hours_per_fte_year / 52, rel=1e-12)
        model.run()
        ts = model.timeseries()
        np.testing.assert_allclose(ts["hours_budget"], coord.budget, rtol=1e-12)
        capacities.append(coord.capacity)
    assert capacities == sorted(capacities) and capacities[-1] > capacities[1] >= 1, f"capacity by fte: {capacities}"


def test_higher_burnout_hazard_never_gives_more_active_volunteers(make_params):
    """With recruitment that follows the shortfall (one recruit per campaign on average) and
    burnout meaning leaving, burnout can only take on-duty volunteer-weeks away.

    At the default settings the mean on-duty pool is NOT monotone in the hazard: paused volunteers
    drop out of the recruitment pipeline, each campaign brings Poisson(5) recruits whatever the
    shortfall, and most paused volunteers return, so moderate burnout overshoots the pool
    (Fredericia, 3 years, seeds 1-6: hazard 0 -> 9.9 active on average, 0.05 -> 11.2). The
    settings here isolate the direction the mechanism itself must have."""
    hazards = (0.0, 0.25, 1.0)

    def active(seed: int, hazard: float) -> float:
        p = make_params(f"years={SHORT_YEARS}", seed=seed)
        p.coordinator.recruits_per_campaign_mean = 1.0
        p.volunteers.leave_after_burnout_share = 1.0
        p.volunteers.burnout_hazard_max_per_week = hazard
        return float(run(p).timeseries["n_volunteers_active"].mean())

    means = [mean_over_seeds(lambda s, h=h: active(s, h), SEEDS) for h in hazards]
    assert means == sorted(means, reverse=True), (
        f"mean active volunteers by burnout hazard: {dict(zip(hazards, means, strict=True))}")


def test_more_supervision_never_gives_more_burnouts(make_params):
    hours = (0.0, 0.5, 1.0)  # up to the standard amount, where the buffer is full

    def burnouts(seed: int, h: float) -> float:
        p = make_params(f"years={SHORT_YEARS}", seed=seed)
        p.coordinator.supervision_hours_per_leader_week = h
        return run(p).summary["volunteer_burnouts"]

    means = [mean_over_seeds(lambda s, h=h: burnouts(s, h), SEEDS) for h in hours]
    assert means == sorted(means, reverse=True), (
        f"mean burnouts by supervision hours: {dict(zip(hours, means, strict=True))}")
    assert means[-1] < means[0] or means[0] == 0, f"supervision does not buffer strain at all: {means}"


@pytest.mark.parametrize("fixture", ["default_run", "partnership_run"])
def test_supervision_level_is_the_hours_given_per_leader_and_never_above_plan(request, fixture):
    res = request.getfixturevalue(fixture)
    planned = min(1.0, res.params.coordinator.supervision_hours_per_leader_week
                  / res.params.volunteers.supervision_standard_hours_per_leader_week)
    ts = res.timeseries
    # the courses the coordinator works for in week w are those running at the end of week w-1
    running = np.concatenate([[0], ts["n_courses_running"].to_numpy()[:-1]])
    busy = running > 0
    assert busy.sum() > 10
    leaders = res.params.course.leaders_per_course * running[busy]
    level = ts["supervision_level"].to_numpy()[busy]
    standard = res.params.volunteers.supervision_standard_hours_per_leader_week
    given = ts["hours_supervision"].to_numpy()[busy] / leaders / standard
    assert (level <= planned + 1e-12).all(), f"supervision level above the planned {planned}: max {level.max()}"
    np.testing.assert_allclose(level, given, rtol=1e-9, err_msg="supervision level != hours given per leader / standard")
    course_hours = np.minimum(res.params.coordinator.hours_per_course_week * running,
                              ts["hours_budget"] - ts["hours_admin"])
    np.testing.assert_allclose(ts["hours_course_running"], course_hours, rtol=1e-9,
                               err_msg="hours for running courses != hours per course-week x courses")


def test_zero_referrals_give_no_citizens_and_no_courses(make_params):
    p = make_params("years=2", seed=1)
    p.referral.staff_referral_rate_per_year = 0.0
    p.referral.self_referral_share_of_attendees = 0.0
    r = run(p)
    s = r.summary
    assert s["citizens_referred"] == 0 and len(r.citizens) == 0
    assert s["courses_started"] == 0 and len(r.courses) == 0
    assert s["citizens_started"] == 0 and s["successes"] == 0
    assert s["mean_wait_weeks"] is None and s["fidelity_mean"] is None and s["qpr_change_mean"] is None
    assert (r.timeseries["n_waiting"] == 0).all() and (r.timeseries["hours_course_running"] == 0).all()


def test_partnership_gives_fewer_courses_and_lower_fidelity_than_own_coordinator(make_params):
    def figure(scenario: str, key: str) -> float:
        return mean_over_seeds(
            lambda s: run(make_params(f"scenario={scenario}", f"years={SHORT_YEARS}", seed=s)).summary[key] or 0.0,
            range(1, 4))

    own, partner = figure("local_coordinator", "courses_started"), figure("partnership", "courses_started")
    assert partner < own, f"courses: partnership {partner} vs own coordinator {own}"
    f_own, f_partner = figure("local_coordinator", "fidelity_mean"), figure("partnership", "fidelity_mean")
    assert 0 < f_partner < f_own <= 1, f"fidelity: partnership {f_partner} vs own coordinator {f_own}"


def test_larger_municipality_never_gives_fewer_referrals(make_params):
    populations = (10_000, 30_000, 100_000, 300_000)

    def referred(seed: int, pop: int) -> float:
        p = make_params("municipality=generic", "years=2", seed=seed)
        p.municipality.population = pop
        return run(p).summary["citizens_referred"]

    means = [mean_over_seeds(lambda s, n=n: referred(s, n), range(1, 4)) for n in populations]
    assert means == sorted(means), f"mean referrals by population: {dict(zip(populations, means, strict=True))}"
    assert means[-1] > means[0]


def test_eligible_pool_scales_with_population(make_params):
    pools = []
    for name in ("rodovre", "fredericia", "copenhagen"):
        p = make_params(f"municipality={name}", "years=1")
        m = PeersimModel(p).municipality_list[0]
        expected = p.municipality.population * p.municipality.adult_share * p.municipality.eligible_share
        assert m.pool_size == pytest.approx(expected, rel=1e-12), name
        pools.append(m.pool_size)
    assert pools == sorted(pools)


def test_a_second_coordinator_serves_more_citizens_than_a_shared_one(make_params):
    shared = PeersimModel(make_params("years=2", "shared_with=[kolding]", seed=1))
    separate = PeersimModel(_kolding_with_its_own_coordinator(make_params("years=2", seed=1)))
    assert [m.name for m in shared.municipality_list] == [m.name for m in separate.municipality_list]
    assert len(shared.coordinator_list) == 1 and len(separate.coordinator_list) == 2
    shared.run()
    separate.run()
    assert len(separate.courses) > len(shared.courses), (
        f"two coordinators started {len(separate.courses)} courses, one shared {len(shared.courses)}"
    )
    assert {c.municipality for c in shared.courses} == {0, 1}, "the shared coordinator served only one municipality"


# ---------------------------------------------------------------------------------------------
# 5. Analytic expected values
# ---------------------------------------------------------------------------------------------

def test_mean_sessions_attended_without_dropout_matches_beta_binomial(make_params):
    p = make_params("municipality=copenhagen", f"years={SHORT_YEARS}", seed=2)
    p.coordinator.fte = 4.0
    p.course.dropout_per_session = 0.0
    r = run(p)
    c = p.course
    cit, courses = r.citizens, r.courses
    assert (cit["state"] != "dropped_out").all(), "a citizen dropped out with dropout_per_session=0"
    full = courses.loc[(courses["sessions_held"] == c.sessions) & ~courses["cancelled"], "course_id"]
    x = cit.loc[cit["course_id"].isin(full), "sessions_attended"].to_numpy(float)
    assert x.size >= 100, f"only {x.size} citizens in completed courses"
    m, S, conc = c.attendance_mean, c.sessions, c.attendance_concentration
    var = S * m * (1 - m) + S * (S - 1) * m * (1 - m) / (conc + 1)  # beta-binomial variance
    se = np.sqrt(var / x.size)
    assert abs(x.mean() - m * S) < 4 * se, (
        f"mean sessions attended {x.mean():.3f}, expected {m * S:.3f} +- {4 * se:.3f} (4 SE, n={x.size})"
    )
    assert x.var(ddof=1) == pytest.approx(var, rel=0.4), "spread of sessions attended is not beta-binomial"


def test_staff_referrals_match_pool_times_rate_times_awareness(make_params):
    """Staff referrals in week w ~ Binomial(pool before referral, rate x awareness(w-1) / 52); the
    sum over two years lies within 4 SD of its expectation, computed from the weekly table."""
    p = make_params("municipality=copenhagen", "years=2", seed=4)
    p.coordinator.intro_meetings_per_year = 0.0
    r = run(p)
    ts, rp, mp = r.timeseries, p.referral, p.municipality
    aw = ts["awareness_mean"].to_numpy()
    # weeks without an intro meeting: awareness decays toward its floor by the weekly share
    quiet = (ts["new_intro_meetings"] == 0).to_numpy()[1:]
    np.testing.assert_allclose((aw[1:] - rp.awareness_floor)[quiet],
                               ((aw[:-1] - rp.awareness_floor) * (1 - rp.awareness_decay_per_week))[quiet], rtol=1e-9)
    # pool before this week's referrals = pool at the end of the week + this week's referrals
    pool_before = np.floor(ts["eligible_pool"].to_numpy() + ts["new_citizens_referred"].to_numpy() + 1e-6)
    awareness_used = np.concatenate([[rp.initial_awareness], aw[:-1]])
    prob = rp.staff_referral_rate_per_year * awareness_used / 52
    expected, sd = (pool_before * prob).sum(), np.sqrt((pool_before * prob * (1 - prob)).sum())
    observed = ts["new_referred_staff"].sum()
    assert abs(observed - expected) < 4 * sd, f"staff referrals {observed}, expected {expected:.1f} +- {4 * sd:.1f}"
    assert (ts["new_citizens_referred"] == ts["new_referred_staff"] + ts["new_referred_self"]).all()
    pool0 = mp.population * mp.adult_share * mp.eligible_share
    assert ts["eligible_pool"].max() <= pool0 + 1e-6, "the eligible pool grew beyond its size"


def test_no_intro_meetings_means_no_meetings_and_no_self_referrals(make_params):
    p = make_params("years=1", seed=1)
    p.coordinator.intro_meetings_per_year = 0.0
    ts = run(p).timeseries
    held = ts.loc[ts["new_intro_meetings"] > 0, "week"].tolist()
    assert not held, f"intro meetings held in weeks {held}"
    assert ts["new_referred_self"].sum() == 0
    rp = p.referral
    decay = (1 - rp.awareness_decay_per_week) ** ts["week"]
    expected = rp.awareness_floor + (rp.initial_awareness - rp.awareness_floor) * decay
    np.testing.assert_allclose(ts["awareness_mean"], expected, rtol=1e-9, err_msg="awareness rose without meetings")


@pytest.mark.parametrize("fixture", ["default_run", "partnership_run"])
def test_eligible_pool_is_renewed_by_turnover_and_drained_by_referrals(request, fixture):
    """pool(w) = pool(w-1) + turnover/52 x (size - pool(w-1)) - referred(w), from pool(0) = size."""
    res = request.getfixturevalue(fixture)
    ts, mp = res.timeseries, res.params.municipality
    size = mp.population * mp.adult_share * mp.eligible_share
    t = mp.eligible_turnover_per_year / 52
    prev = np.concatenate([[size], ts["eligible_pool"].to_numpy()[:-1]])
    expected = prev + t * (size - prev) - ts["new_citizens_referred"].to_numpy()
    np.testing.assert_allclose(ts["eligible_pool"], expected, rtol=1e-9,
                               err_msg="the eligible pool does not follow turnover minus referrals")
    assert ts["new_referred_self"].sum() > 0, "no self-referrals: the self-referral channel is not exercised"


def test_waiting_citizens_give_up_at_the_weekly_hazard(make_params):
    """Give-ups in week w ~ Binomial(waiting before the give-up step, hazard)."""
    p = make_params("municipality=copenhagen", "years=2", seed=5)
    r = run(p)
    ts, h = r.timeseries, p.referral.giveup_hazard_per_week
    at_risk = (ts["n_waiting"] + ts["new_citizens_gave_up"]).to_numpy(float)
    expected, sd = h * at_risk.sum(), np.sqrt((at_risk * h * (1 - h)).sum())
    observed = ts["new_citizens_gave_up"].sum()
    assert expected > 50, "too few citizens at risk of giving up"
    assert abs(observed - expected) < 4 * sd, f"gave up {observed}, expected {expected:.1f} +- {4 * sd:.1f}"


@pytest.mark.parametrize("scenario", ["local_coordinator", "partnership"])
def test_first_course_fidelity_is_the_weighted_sum_of_its_drivers(make_params, scenario):
    """Without noise, the first course (new leaders, no supervision history) has fidelity
    w_training x training quality + w_supervision x planned level + w_role x role support."""
    p = make_params(f"scenario={scenario}", "years=1", seed=1)
    p.fidelity.noise_sd = 0.0
    courses = run(p).courses
    assert len(courses) > 0
    f, cp = p.fidelity, p.coordinator
    planned = min(1.0, cp.supervision_hours_per_leader_week / p.volunteers.supervision_standard_hours_per_leader_week)
    expected = (f.weight_training * cp.training_quality + f.weight_supervision * planned
                + f.weight_role_support * cp.role_support)
    assert courses["fidelity"].iloc[0] == pytest.approx(min(1.0, expected), rel=1e-9)
    assert (courses["fidelity"].between(0, 1)).all()


def test_self_referrals_match_intro_meetings_times_attendance_times_share(make_params):
    p = make_params("years=3", seed=6)
    p.referral.staff_referral_rate_per_year = 0.0
    p.referral.waiting_list_target_courses = 1000.0  # never pause intro meetings
    r = run(p)
    rp, ts = p.referral, r.timeseries
    meetings = ts["new_intro_meetings"].to_numpy()[:-1].sum()  # they refer themselves the week after
    assert meetings >= 20, f"only {meetings} intro meetings"
    lam = rp.intro_meeting_attendees_mean * rp.self_referral_share_of_attendees * meetings  # Poisson thinning
    observed = ts["new_referred_self"].sum()
    assert (ts["new_referred_staff"] == 0).all()
    tol = 4 * np.sqrt(lam)
    assert abs(observed - lam) < tol, f"self-referrals {observed}, expected {lam:.1f} +- {tol:.1f}"


def test_zero_full_dose_effect_gives_zero_attributable_effect_and_no_success(make_params):
    p = make_params(f"years={SHORT_YEARS}", seed=2)
    p.recovery.effect_full_dose_qpr = 0.0
    r = run(p)
    s = r.summary
    assert s["citizens_started"] > 0
    assert s["qpr_effect_attributable_mean"] == 0.0 and s["successes"] == 0
    assert s["qpr_effect_attributable_26w_mean"] in (0.0, None)
    st = r.citizens[r.citizens["started"]]
    assert (st["qpr_end_course"].dropna() == st["qpr_cf_end_course"].dropna()).all()
    ts = r.timeseries.dropna(subset=["qpr_mean_started"])
    assert (ts["qpr_mean_started"] == ts["qpr_cf_mean_started"]).all(), "factual != counterfactual without an effect"


def test_effect_at_course_end_is_dose_times_fidelity(make_params):
    """E = full_dose x (fidelity / reference) x sessions attended / sessions (responsiveness 1)."""
    p = make_params(f"years={SHORT_YEARS}", seed=3)
    p.recovery.effect_heterogeneity_sd = 0.0
    rp = p.recovery
    cit = run(p).citizens
    ended = cit[cit["ti_course_end"].notna()]
    unclipped = ended[(ended["qpr_end_course"] < 60) & (ended["qpr_cf_end_course"] > 0)]
    assert len(unclipped) > 50
    expected = (rp.effect_full_dose_qpr * unclipped["fidelity"] / rp.fidelity_reference
                * unclipped["sessions_attended"] / p.course.sessions)
    np.testing.assert_allclose(unclipped["qpr_effect_end_course"], expected, rtol=1e-9, atol=1e-9)


def test_attributable_effect_is_never_negative_and_zero_without_attendance(default_run):
    st = default_run.citizens[default_run.citizens["ti_course_end"].notna()]
    eff = st["qpr_effect_end_course"]
    assert (eff >= -1e-12).all(), "a negative attributable effect at course end"
    assert (eff[st["sessions_attended"] == 0].abs() < 1e-12).all(), "an effect without attending any session"
    assert (st["qpr_26w"].dropna() >= st["qpr_cf_26w"].dropna() - 1e-12).all()


def test_success_needs_a_sustained_period_after_the_start(default_run):
    cit = default_run.citizens
    succ = cit[cit["success"]]
    sustain = default_run.params.recovery.success_sustain_weeks
    assert (succ["ti_success"] - succ["ti_start"] >= sustain - 1).all(), "a success before it could be sustained"
    assert default_run.summary["successes"] == len(succ) == int(default_run.timeseries["cum_successes"].iloc[-1])


def test_volunteer_states_on_duty_match_the_summary(default_run):
    v = default_run.volunteers
    on_duty = {s.name.lower() for s in ON_DUTY}
    assert default_run.summary["volunteers_active_end"] == int(v["state"].isin(on_duty).sum())
    assert default_run.summary["volunteers_active_end"] == int(default_run.timeseries["n_volunteers_active"].iloc[-1])


def test_stepping_past_the_horizon_is_refused_and_leaves_the_clock_alone(make_params):
    """``model.step()`` after the last week raises (every time) before Mesa moves its clock;
    ``model.steps`` and ``model.time`` keep counting the weeks run."""
    model = PeersimModel(make_params("years=1", seed=1))
    model.step()
    model.run()  # the rest of the horizon, after a manual step
    assert (model.week, model.steps, model.time) == (52, 52, 52)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="horizon is 52 weeks"):
            model.step()
    assert (model.week, model.steps, model.time) == (52, 52, 52)


def test_the_recorder_writes_each_stock_to_the_column_it_names():
    """Stocks are recorded by column name (the first week names fewer than the later ones);
    flows are tallied by name; a column no week names keeps 0."""
    from peersim.reporting import Recorder

    rec = Recorder(2)
    rec.record(0, {"n_waiting": 3, "eligible_pool": 100.5})
    rec.tally("new_citizens_referred", 4)
    rec.record(1, {"eligible_pool": 99.0, "n_waiting": 5, "hours_admin": 2.5, "hours_budget": 10.0})
    rec.record(2, {"eligible_pool": 98.0, "n_waiting": 6, "hours_admin": 3.0, "hours_budget": 10.0})
    data, col = rec.data, rec.col
    assert data[:, col["n_waiting"]].tolist() == [3, 5, 6]
    assert data[:, col["eligible_pool"]].tolist() == [100.5, 99.0, 98.0]
    assert data[:, col["hours_admin"]].tolist() == [0.0, 2.5, 3.0]
    assert data[:, col["new_citizens_referred"]].tolist() == [0, 4, 0]
    assert (data[:, col["n_in_course"]] == 0).all()


def test_the_model_leaves_mesas_running_flag_alone(make_params):
    """Mesa's Model.running is a flag its batch runner and visualisation read; the running
    courses are PeersimModel.running_courses."""
    model = PeersimModel(make_params("years=1", seed=1), make_agents=False)
    model.run()
    assert model.running is True
    assert all(c.running for c in model.running_courses)


def test_a_stream_must_be_declared():
    from peersim.streams import substream

    substream(1, "recovery", 0, 3)
    with pytest.raises(ValueError, match="not a declared stream"):
        substream(1, "recovry", 0)
