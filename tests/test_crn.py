"""Common random numbers: arms run with the same seed share the random numbers of the events they
have in common (peersim.streams, docs/model.md, Random numbers).

Same seed, same run; the n-th citizen referred in a municipality has the same draws in every arm
(own coordinator, partnership, a coordinator shared with Kolding, more coordinator hours), and the
same QPR-15 fluctuation; a volunteer's draws do not depend on the others; the referral counts come
from inverting one uniform a week, which is a binomial (Poisson) draw and moves monotonically with
the rate; and the paired difference between two arms varies less with shared seeds than with
independent ones, by a stated factor.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from peersim import run
from peersim.model import PeersimModel
from peersim.recovery import innovations
from peersim.streams import binomial_inverse, municipality_keys, poisson_inverse, substream
from peersim.volunteer import BLOCK, VolunteerRegistry, _WeeklyDraws

# every draw a citizen makes at referral (registry columns)
DRAWN = ("subgroup", "baseline", "resp", "p_attend", "patience", "u_decline", "u_companion",
         "u_volunteer")


def _fredericia(model: PeersimModel) -> dict[str, np.ndarray]:
    """The draws of Fredericia's citizens of ``model``, in Fredericia's referral order."""
    reg = model.citizens
    names = [m.name for m in model.municipality_list]
    rows = np.flatnonzero(reg.municipality[: reg.n] == names.index("fredericia"))
    assert (np.diff(reg.referral_order[rows]) == 1).all() and reg.referral_order[rows[0]] == 0
    out = {c: getattr(reg, c)[rows] for c in DRAWN}
    out["u_sessions"] = reg.u_sessions[rows]
    out["u_invite"] = reg.u_invite[rows]
    return out


def _model(make_params, *overrides: str, seed: int = 11, years: int = 2) -> PeersimModel:
    model = PeersimModel(make_params(f"years={years}", *overrides, seed=seed), make_agents=False)
    model.run()
    return model


def test_same_seed_same_run(make_params):
    a = run(make_params("years=2", "shared_with=[kolding]", seed=4))
    b = run(make_params("years=2", "shared_with=[kolding]", seed=4))
    pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    pd.testing.assert_frame_equal(a.citizens, b.citizens)
    pd.testing.assert_frame_equal(a.volunteers, b.volunteers)
    assert a.summary == b.summary


@pytest.mark.parametrize("arm", [("scenario=partnership",), ("shared_with=[kolding]",), ("coordinator.fte=1.5",),
                                 ("shared_with=[kolding]", "coordinator.fte=0.6")])
def test_the_nth_citizen_of_a_municipality_has_the_same_draws_in_every_arm(make_params, arm):
    own = _fredericia(_model(make_params))
    other = _fredericia(_model(make_params, *arm))
    n = min(len(own["baseline"]), len(other["baseline"]))
    assert n > 60, "too few citizens to span a block of the traits stream"
    for col, values in own.items():
        np.testing.assert_array_equal(values[:n], other[col][:n], err_msg=f"{col} differs with {arm}")


def test_the_draws_differ_between_seeds_and_between_municipalities(make_params):
    a = _fredericia(_model(make_params, seed=11))
    b = _fredericia(_model(make_params, seed=12))
    assert not np.array_equal(a["baseline"][:50], b["baseline"][:50])
    shared = _model(make_params, "shared_with=[kolding]")
    reg = shared.citizens
    kolding = np.flatnonzero(reg.municipality[: reg.n] == 1)
    assert not np.array_equal(reg.u_decline[kolding[:50]], a["u_decline"][:50])


def test_the_nth_citizens_fluctuation_is_the_same_alone_or_with_a_neighbour(make_params):
    """Kolding's and Fredericia's citizens interleave in the shared arm; each keeps their own
    QPR-15 fluctuation sequence (indexed by weeks since referral)."""
    alone = _model(make_params).citizens
    shared = _model(make_params, "shared_with=[kolding]").citizens
    weeks = 40
    rows_alone = np.arange(alone.n)
    rows_shared = np.flatnonzero(shared.municipality[: shared.n] == 0)
    n = min(rows_alone.size, rows_shared.size)
    eps_alone = innovations(alone, 0, alone.n, np.full(alone.n, weeks))[:, rows_alone[:n]]
    eps_shared = innovations(shared, 0, shared.n, np.full(shared.n, weeks))[:, rows_shared[:n]]
    np.testing.assert_array_equal(eps_alone, eps_shared)
    # and they are standard normal (4,000+ draws: mean within 0.1, SD within 0.1 of 1)
    assert abs(eps_alone.mean()) < 0.1 and abs(eps_alone.std() - 1.0) < 0.1


def test_municipality_keys_follow_the_name_and_tell_duplicates_apart():
    a, b = municipality_keys(["fredericia"]), municipality_keys(["kolding", "fredericia"])
    assert a[0] == b[1]
    twin = municipality_keys(["generic", "generic"])
    assert twin[0] != twin[1]


def test_a_volunteers_draws_do_not_depend_on_the_others(make_params):
    vp = make_params().volunteers
    small, big = VolunteerRegistry(vp, seed=3, capacity=8), VolunteerRegistry(vp, seed=3, capacity=300)
    small.add(100, 0, 0)  # grows 8 -> 100 -> ...
    np.testing.assert_array_equal(small.u_training[:100], big.u_training[:100])
    assert not np.array_equal(VolunteerRegistry(vp, seed=4).u_training[:64], big.u_training[:64])
    few, many = _WeeklyDraws(vp, seed=3), _WeeklyDraws(vp, seed=3)
    few.cover(1, 5)
    many.cover(1, 3 * BLOCK + 1)
    np.testing.assert_array_equal(few.hazard, many.hazard[:, :, : few.rows])
    np.testing.assert_array_equal(few.burn_u, many.burn_u[:, : few.rows])
    many.cover(2, 10)
    assert not np.array_equal(many.burn_u[:, :BLOCK], few.burn_u)  # another year, other draws


@pytest.mark.parametrize(("n", "p"), [(830, 0.0012), (830, 0.01), (40, 0.5), (5000, 0.05)])
def test_binomial_inverse_is_a_binomial_draw(n, p):
    """Inverting evenly spaced uniforms gives the binomial quantiles: the mean and variance of the
    counts are n p and n p (1 - p) (the last case, a mean over 100, goes through scipy)."""
    u = (np.arange(5_000) + 0.5) / 5_000
    k = np.array([binomial_inverse(x, n, p) for x in u])
    assert k.mean() == pytest.approx(n * p, rel=0.01, abs=0.01)
    assert k.var() == pytest.approx(n * p * (1 - p), rel=0.03)
    assert (k == stats.binom.ppf(u, n, p)).mean() > 0.999


@pytest.mark.parametrize("mean", [0.5, 3.2, 40.0, 250.0])
def test_poisson_inverse_is_a_poisson_draw(mean):
    u = (np.arange(5_000) + 0.5) / 5_000
    k = np.array([poisson_inverse(x, mean) for x in u])
    assert k.mean() == pytest.approx(mean, rel=0.01)
    assert k.var() == pytest.approx(mean, rel=0.03)


def test_the_same_uniform_gives_more_referrals_at_a_higher_rate():
    """The coupling that pairs the arms: one uniform a week, a count that never falls as the
    referral probability (the arm's awareness) rises."""
    for u in np.linspace(0.001, 0.999, 37):
        counts = [binomial_inverse(u, 830, p) for p in (0.0005, 0.001, 0.002, 0.004, 0.008)]
        assert counts == sorted(counts)
        assert [poisson_inverse(u, m) for m in (1.0, 2.0, 4.0)] == sorted(poisson_inverse(u, m) for m in (1.0, 2.0, 4.0))
    assert binomial_inverse(0.3, 0, 0.5) == 0 and binomial_inverse(0.3, 10, 1.0) == 10
    assert binomial_inverse(0.999999, 10, 0.0) == 0 and poisson_inverse(0.5, 0.0) == 0


def test_a_stream_key_takes_several_integers():
    a = substream(1, "traits", 7, 0).random(3)
    assert np.array_equal(a, substream(1, "traits", 7, 0).random(3))
    assert not np.array_equal(a, substream(1, "traits", 7, 1).random(3))
    assert not np.array_equal(a, substream(1, "recovery", 7, 0).random(3))


def test_shared_seeds_make_the_paired_difference_vary_less_than_independent_seeds(make_params):
    """Fredericia alone (own coordinator) against Fredericia sharing a coordinator with Kolding,
    1 year, 100 replications: with shared seeds (seed r in both arms) the paired difference of
    Fredericia's referred citizens varies at least 2 times less, and of its citizens who completed
    a course at least 1.2 times less, than with independent seeds (the second arm at r + 10**6).
    Measured: 2.9 and 1.6 (seeds 0-99; 2.7 and 1.4 for seeds 1000-1099). With the run-wide
    streams that the owners' streams replaced: 1.2 and 0.95 (1.4 and 0.94). benchmarks/crn.py
    measures the 5-year comparison."""
    def figures(overrides: tuple[str, ...], seed: int) -> tuple[int, int]:
        model = _model(make_params, *overrides, seed=seed, years=1)
        reg = model.citizens
        mine = reg.municipality[: reg.n] == 0
        return int(mine.sum()), int((reg.completed[: reg.n] & mine).sum())

    R = 100
    alone = np.array([figures((), r) for r in range(R)], dtype=float)
    shared = np.array([figures(("shared_with=[kolding]",), r) for r in range(R)], dtype=float)
    independent = np.array([figures(("shared_with=[kolding]",), r + 10**6) for r in range(R)], dtype=float)
    var_crn = np.var(shared - alone, axis=0, ddof=1)
    var_ind = np.var(independent - alone, axis=0, ddof=1)
    factor = var_ind / var_crn
    assert factor[0] > 2.0, f"referred: variance reduction factor {factor[0]:.2f}"
    assert factor[1] > 1.2, f"completed: variance reduction factor {factor[1]:.2f}"


def test_a_burnouts_uniform_gives_the_leave_and_pause_draws_exactly():
    """Given a burnout (u < p), u / p is uniform: the share leaving is the leave share and the
    pause uniform is uniform on (0, 1) whether or not the volunteer leaves (independent)."""
    from peersim.volunteer import after_burnout

    rng = np.random.default_rng(8)
    p = rng.uniform(0.05, 0.6, 400_000)
    u = rng.random(p.size)
    burned = u < p
    leave, w = after_burnout(u[burned], p[burned], 0.3)
    assert leave.mean() == pytest.approx(0.3, abs=0.005)
    for part in (w[leave], w[~leave]):
        assert part.mean() == pytest.approx(0.5, abs=0.005)
        assert np.mean(part < 0.1) == pytest.approx(0.1, abs=0.005)
    assert 0.0 <= w.min() and w.max() < 1.0
