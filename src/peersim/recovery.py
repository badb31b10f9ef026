"""Recovery (QPR-15) and attributable success: every followed week of every citizen, computed
in one vectorised pass from the course history the citizens' registry records.

The process. A citizen's service-as-usual (counterfactual) QPR-15 follows an AR(1) process around
a personal level ``mu = baseline + sau_drift``: every week the citizen is followed,
``x <- mu + rho (x - mu) + sd_innovation * eps``, starting from the baseline in the week of
referral. The programme adds an attributable effect ``E``: it grows with each session attended
(by ``effect_scale * effect_full_dose * responsiveness * fidelity / fidelity_reference / sessions``;
``effect_scale`` is 1 for the trial's effect, less for a programme whose effect shrinks at scale) and, from
the week the course ends (or the citizen drops out), decays by a weekly share (more slowly in
companionship while the municipality's workshops run). The factual score is
``counterfactual + E``: both worlds use the same random numbers, so the effect attributable to
the programme is known per citizen. A citizen is followed from referral until they decline or
give up, or until ``follow_up_weeks`` after their course; after that their scores stay put.

Attributable success (SØM sense): the factual score stays at least ``success_improvement_qpr``
above the citizen's baseline for ``success_sustain_weeks`` consecutive followed weeks since the
course started, while over the same weeks the counterfactual did not. It is recorded once, with
the week it is reached.

How it is computed. Nothing else in the model depends on a citizen's score, so the scores are
not moved week by week. The weekly pass records what the scores depend on (referral, attendance
of each session as a bit set, course end, companionship, which municipalities' workshops run,
when follow-up ends: :class:`CourseHistory`), and :func:`evaluate` computes every followed week of
every citizen in one pass when results are asked for (at the end of a run, or by an agent's
``qpr`` mid-run), exactly as the weekly process above defines them; ``tests/test_recovery.py``
holds it to a week-by-week loop. Each citizen's fluctuation ``eps`` is their own sequence (the
n-th citizen referred in a municipality has the same one in every scenario run with the same
seed; :func:`innovations`), indexed by weeks since referral.

Timing within a week (the model's step order): the score at the end of week ``t`` includes that
week's sessions, fluctuation and decay. Records taken during the week, ``qpr_end_course`` (when
the course ends or the citizen drops out, step 3) and the trial measurement (start of step 5),
see last week's fluctuation and this week's sessions, before this week's decay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from peersim.params import RecoveryParams
from peersim.registry import NO_WEEK, PREFIX
from peersim.streams import substream
from peersim.vocabulary import QPR_MAX

BLOCK = 64      # citizens per block of the recovery stream (of a municipality's referral order; each has its own generator)
CHUNK = 4096    # citizens evaluated together (bounds the memory of :func:`evaluate`)
RECORDS = ("qpr_end", "qpr_cf_end", "qpr_26w", "qpr_cf_26w")   # the scores recorded for every citizen
TRIAL_RECORDS = ("qpr_trial", "qpr_cf_trial")                  # and, in a trial, for the randomised


class CourseHistory(Protocol):
    """What the pass reads and writes: one row per citizen, the first ``n`` rows in use
    (:class:`peersim.citizen.CitizenRegistry` is the one implementation)."""

    n: int
    seed: int                   # the run's seed, for each citizen's own fluctuation sequence
    trial: bool                 # randomised citizens are measured: ``ti_measured``, TRIAL_RECORDS
    rp: RecoveryParams
    workshops: np.ndarray       # [week, municipality]: the municipality's workshops ran that week
    municipality_keys: list[int]  # each municipality's block-stream key (:func:`peersim.streams.municipality_keys`)
    # read, by row
    municipality: np.ndarray
    referral_order: np.ndarray  # the citizen's place in their municipality's referral order
    baseline: np.ndarray
    mu: np.ndarray
    gain: np.ndarray            # effect per session attended
    ti_referred: np.ndarray
    ti_start: np.ndarray
    ti_course_end: np.ndarray
    ti_measured: np.ndarray     # in a trial only
    follow_last: np.ndarray     # the last week followed (later weeks keep its scores)
    comp_until: np.ndarray
    attended: np.ndarray        # bit j: attended the session in week ti_start + j
    # written, by row
    x_cf: np.ndarray
    effect: np.ndarray
    success: np.ndarray
    ti_success: np.ndarray
    qpr_end: np.ndarray
    qpr_cf_end: np.ndarray
    qpr_26w: np.ndarray
    qpr_cf_26w: np.ndarray
    qpr_trial: np.ndarray       # in a trial only
    qpr_cf_trial: np.ndarray    # in a trial only


@dataclass
class WeeklyRecovery:
    """Weekly figures of the citizens followed after starting a course, weeks ``0..week``."""

    qpr_mean: np.ndarray        # factual QPR-15 (clipped to 0-60), mean; NaN when nobody is followed
    qpr_cf_mean: np.ndarray     # counterfactual, likewise
    n_followed: np.ndarray      # how many
    new_successes: np.ndarray   # attributable successes reached in the week


@dataclass(slots=True)
class _WeeklySums:
    """Sums over the followed starters by week, added to chunk by chunk."""

    factual: np.ndarray
    counterfactual: np.ndarray
    followed: np.ndarray


def innovation_sd(rp: RecoveryParams) -> float:
    """The SD of the weekly innovation that keeps the counterfactual's SD at ``fluctuation_sd``."""
    rho = rp.weekly_persistence
    return rp.fluctuation_sd * np.sqrt(1.0 - rho * rho)


def evaluate(reg: CourseHistory, until: int) -> WeeklyRecovery:
    """Every citizen's recovery up to the end of week ``until`` (see the module docstring).

    Fills ``x_cf`` and ``effect`` (as of the citizen's last followed week), ``success``,
    ``ti_success``, ``qpr_end``/``qpr_cf_end``, ``qpr_26w``/``qpr_cf_26w`` and, in a trial,
    ``qpr_trial``/``qpr_cf_trial``; returns the weekly figures.
    """
    sums = _WeeklySums(np.zeros(until + 1), np.zeros(until + 1), np.zeros(until + 1))
    for lo in range(0, reg.n, CHUNK):
        _evaluate_rows(reg, lo, min(reg.n, lo + CHUNK), until, sums)
    n = sums.followed
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_f, mean_cf = sums.factual / n, sums.counterfactual / n
    hit = reg.ti_success[: reg.n][reg.success[: reg.n]]
    return WeeklyRecovery(mean_f, mean_cf, n.astype(np.int64),
                          np.bincount(hit, minlength=until + 1)[: until + 1])


def innovations(reg: CourseHistory, lo: int, hi: int, lengths: np.ndarray) -> np.ndarray:
    """The fluctuations ``eps[k, i]`` of rows ``lo..hi-1`` for their first ``lengths[i]``
    followed weeks (k-major). The citizens of block ``b`` of a municipality's referral order
    (:data:`BLOCK` citizens) draw their own sequence, week by week for all of them, so a
    citizen's k-th value depends neither on how long the others are followed nor on who else
    was referred, here or in another municipality."""
    eps = np.zeros((int(lengths.max()), hi - lo))
    order = reg.referral_order[lo:hi]
    muni = reg.municipality[lo:hi]
    single = len(reg.municipality_keys) == 1
    for m, key in enumerate(reg.municipality_keys):
        cols = np.arange(hi - lo) if single else np.flatnonzero(muni == m)
        if not cols.size:
            continue
        o = order[cols]  # increasing: rows are in referral order
        for b in range(int(o[0]) // BLOCK, int(o[-1]) // BLOCK + 1):
            a, z = np.searchsorted(o, (b * BLOCK, (b + 1) * BLOCK))
            k = int(lengths[cols[a:z]].max())
            if k > 0:
                draws = substream(reg.seed, "recovery", key, b).standard_normal((k, BLOCK))
                eps[:k, cols[a:z]] = draws[:, o[a:z] - b * BLOCK]
    return eps


def _evaluate_rows(reg: CourseHistory, lo: int, hi: int, until: int, sums: _WeeklySums) -> None:
    """The counterfactual of rows ``lo..hi-1`` and the trial measurements it alone decides; the
    effect and success of those who started a course (:func:`_effect_and_success`)."""
    rp = reg.rp
    sl = slice(lo, hi)
    t_ref = reg.ti_referred[sl].astype(np.int64)
    last = np.minimum(reg.follow_last[sl], until).astype(np.int64)
    length = np.maximum(last - t_ref + 1, 0)       # followed weeks
    base, mu = reg.baseline[sl], reg.mu[sl]
    reg.x_cf[sl] = base
    reg.effect[sl] = 0.0
    reg.success[sl] = False
    reg.ti_success[sl] = NO_WEEK
    for col in RECORDS + TRIAL_RECORDS if reg.trial else RECORDS:
        getattr(reg, col)[sl] = np.nan
    K = int(length.max()) if length.size else 0
    measured = reg.ti_measured[sl] if reg.trial else None
    if K == 0:  # nobody here was followed for a week yet (a trial measurement sees the baseline)
        if measured is not None:
            m = measured >= 0
            reg.qpr_trial[sl][m] = reg.qpr_cf_trial[sl][m] = np.clip(base[m], 0.0, QPR_MAX)
        return
    R = hi - lo
    cols = np.arange(R)
    # counterfactual: x[k] is the score at the end of the citizen's k-th followed week
    x = innovations(reg, lo, hi, length)
    x *= innovation_sd(rp)
    x[0] += rp.weekly_persistence * (base - mu)
    rho = rp.weekly_persistence
    for k in range(1, K):
        x[k] += rho * x[k - 1]
    x += mu
    at_last = np.maximum(length - 1, 0)
    followed_once = length > 0
    reg.x_cf[sl] = np.where(followed_once, x[at_last, cols], base)

    def x_at(k: np.ndarray) -> np.ndarray:  # the score after followed week k (baseline before)
        k = np.minimum(k, length - 1)
        return np.where(k >= 0, x[np.maximum(k, 0), cols], base)

    if measured is not None:  # everyone measured: the counterfactual (starters get their effect below)
        m = np.flatnonzero(measured >= 0)
        if m.size:
            cf = np.clip(x_at(measured.astype(np.int64) - 1 - t_ref)[m], 0.0, QPR_MAX)
            reg.qpr_cf_trial[lo + m] = cf
            reg.qpr_trial[lo + m] = cf
    # the effect, for citizens who started a course
    s = np.flatnonzero(reg.ti_start[sl] != NO_WEEK)
    if s.size:
        _effect_and_success(reg, lo, s, t_ref[s], length[s], x[:, s], until, sums)


def _effect_and_success(reg: CourseHistory, lo: int, s: np.ndarray, t_ref: np.ndarray,
                        length: np.ndarray, x: np.ndarray, until: int, sums: _WeeklySums) -> None:
    """Effect, success, the end-of-course, 26-week and trial records of the rows ``lo + s``
    who started a course; ``x`` holds their counterfactual scores (k-major)."""
    rp = reg.rp
    rows = lo + s
    K, n = x.shape
    cols = np.arange(n)
    dose, decay, t = _effect(reg, rows, t_ref, K, until)
    E = dose * decay
    k = np.arange(K)[:, None]
    valid = k < length
    on = valid & (t >= reg.ti_start[rows])            # followed, the course has started
    base = reg.baseline[rows]
    gain_cf = x - base
    thr, S = rp.success_improvement_qpr, rp.success_sustain_weeks
    run_f = _run_lengths(on & (gain_cf + E >= thr))
    run_cf = _run_lengths(on & (gain_cf >= thr))
    hit = (run_f >= S) & (run_cf < S)
    got = hit.any(axis=0)
    reg.success[rows] = got
    reg.ti_success[rows] = np.where(got, t_ref + hit.argmax(axis=0), NO_WEEK)
    # weekly means over followed starters
    f = np.clip(x + E, 0.0, QPR_MAX)
    cf = np.clip(x, 0.0, QPR_MAX)
    weeks = t[on]
    sums.factual += np.bincount(weeks, weights=f[on], minlength=until + 1)
    sums.counterfactual += np.bincount(weeks, weights=cf[on], minlength=until + 1)
    sums.followed += np.bincount(weeks, minlength=until + 1)
    at_last = np.maximum(length - 1, 0)
    reg.effect[rows] = np.where(length > 0, E[at_last, cols], 0.0)

    def during(week: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores of columns ``i`` as recorded during ``week`` (last week's fluctuation and
        decay, this week's sessions; frozen after follow-up), (factual, counterfactual)."""
        kx = np.minimum(week - 1 - t_ref[i], at_last[i])
        kd = np.minimum(week - t_ref[i], at_last[i])
        prev = np.where(kx >= 0, x[np.maximum(kx, 0), i], base[i])
        dec = np.where(kx >= 0, decay[np.maximum(kx, 0), i], 1.0)
        eff = np.where(kd >= 0, dose[np.maximum(kd, 0), i], 0.0) * dec
        return np.clip(prev + eff, 0.0, QPR_MAX), np.clip(prev, 0.0, QPR_MAX)

    # the end of the course (step 3), and 26 weeks later (end of that week) if still followed
    t_end = reg.ti_course_end[rows].astype(np.int64)
    ended = np.flatnonzero(t_end != NO_WEEK)
    if ended.size:
        reg.qpr_end[rows[ended]], reg.qpr_cf_end[rows[ended]] = during(t_end[ended], ended)
        k26 = t_end[ended] + 26 - t_ref[ended]
        ok = k26 < length[ended]
        e26, c26 = ended[ok], k26[ok]
        reg.qpr_cf_26w[rows[e26]] = cf[c26, e26]
        reg.qpr_26w[rows[e26]] = f[c26, e26]
    if reg.trial:  # the trial measurement (start of step 5)
        tm = reg.ti_measured[rows].astype(np.int64)
        mm = np.flatnonzero(tm >= 0)
        if mm.size:
            reg.qpr_trial[rows[mm]], reg.qpr_cf_trial[rows[mm]] = during(tm[mm], mm)


def _effect(reg: CourseHistory, rows: np.ndarray, t_ref: np.ndarray, K: int,
            until: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For ``rows`` over K weeks from referral (k-major): the dose (gain x sessions attended
    up to the end of week k), the decay (share of it left at the end of week k) and the
    week's number; the effect is dose x decay."""
    rp = reg.rp
    t = t_ref + np.arange(K)[:, None]
    offset = t - reg.ti_start[rows]                  # session offset since the course started
    sessions = np.bitwise_count(reg.attended[rows] & PREFIX[np.clip(offset + 1, 0, 64)])
    t_end = reg.ti_course_end[rows]
    after = (t_end != NO_WEEK) & (t >= t_end)
    workshops = (reg.comp_until[rows] > t) & reg.workshops[np.minimum(t, until), reg.municipality[rows]]
    keep = np.where(after, np.where(workshops, 1.0 - rp.decay_per_week_companionship,
                                    1.0 - rp.decay_per_week), 1.0)
    return reg.gain[rows] * rp.effect_scale * sessions, np.cumprod(keep, axis=0), t


def _run_lengths(ok: np.ndarray) -> np.ndarray:
    """For a (weeks x rows) mask, how many consecutive weeks up to each week it has held."""
    k = np.arange(ok.shape[0])[:, None]
    last_miss = np.maximum.accumulate(np.where(ok, -1, k), axis=0)
    return k - last_miss
