"""Citizens: referred adults, their course, recovery (QPR-15) and attributable success.

Only people who meet the programme become agents: a citizen is created when referred. Each
citizen is a Mesa agent whose state lives in one row of a :class:`CitizenRegistry` (a struct of
numpy arrays), so the weekly work on citizens is vectorised over the rows concerned.

Recovery. A citizen's service-as-usual (counterfactual) QPR-15 follows an AR(1) process around a
personal level ``mu = baseline + sau_drift``: every week the citizen is followed,
``x <- mu + rho (x - mu) + sd_innovation * eps``, starting from the baseline in the week of
referral. The programme adds an attributable effect ``E``: it grows with each session attended
(by ``effect_full_dose * responsiveness * fidelity / fidelity_reference / sessions``) and, from
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
when follow-up ends), and :meth:`CitizenRegistry.evaluate` computes every followed week of every
citizen in one vectorised pass when results are asked for (at the end of a run, or by an agent's
``qpr`` mid-run), exactly as the weekly process above defines them. Each citizen's fluctuation
``eps`` is their own sequence (the n-th referred citizen of a seed has the same one in every
scenario; :func:`peersim.streams.substream`), indexed by weeks since referral.

Timing within a week (the model's step order): the score at the end of week ``t`` includes that
week's sessions, fluctuation and decay. Records taken during the week, ``qpr_end_course`` (when
the course ends or the citizen drops out, step 3) and the trial measurement (start of step 5),
see last week's fluctuation and this week's sessions, before this week's decay.

Waiting citizens give up at a constant weekly hazard: each citizen's patience (weeks of waiting
before they would give up, geometric) is drawn with their traits, and they give up in that week
if they are still waiting.

Randomised trial (``scenario=trial``). Citizens who enrol are randomised (:meth:`randomise`): the
PEER arm joins the waiting list as usual, the SAU arm is in state ``CONTROL`` (followed, never
invited to a course, never in companionship). Every randomised citizen is measured once
(intention to treat, :meth:`measure_trial`) at the end of the intervention:

* a PEER citizen offered a course, at the planned end of that course (its last session's week),
  whether they attended it all, dropped out, declined the seat or the course was cancelled;
* a PEER citizen who gives up while waiting, ``formation_weeks + sessions - 1`` weeks after
  randomisation (when a course begun at once would have ended) or when giving up, if later;
* a control (SAU), at the planned end of the first course that starts in their municipality after
  their randomisation: the course their PEER peers randomised at the same time join, so both arms
  are measured after the same time (under service as usual QPR-15 drifts upwards, so measuring
  one arm later would bias the difference).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from mesa import Agent

from peersim.params import CompanionshipParams, CourseParams, RecoveryParams
from peersim.registry import NO_ROWS, NO_WEEK, ColumnStore
from peersim.streams import substream
from peersim.trial import ARM_NAMES, PEER, SAU
from peersim.vocabulary import QPR_MAX, SUBGROUPS

if TYPE_CHECKING:
    from peersim.model import PeersimModel


class CitizenState(IntEnum):
    WAITING = 0        # referred, on the municipality's waiting list
    IN_COURSE = 1      # enrolled in a running course
    COMPANIONSHIP = 2  # course over, companionship period running
    DONE = 3           # course (and companionship) over
    DECLINED = 4       # declined at referral or declined the seat offered
    GAVE_UP = 5        # gave up while waiting
    DROPPED_OUT = 6    # left the course before its end
    CONTROL = 7        # randomised to service as usual in a trial: followed until measured, never offered a course


# states in which a randomised citizen's trial measurement waits (they may still start a course)
MEASURE_LATER = np.zeros(len(CitizenState), dtype=bool)
MEASURE_LATER[[CitizenState.WAITING, CitizenState.IN_COURSE]] = True
_WAITING, _IN_COURSE, _COMPANIONSHIP = int(CitizenState.WAITING), int(CitizenState.IN_COURSE), int(CitizenState.COMPANIONSHIP)
NOT_RANDOMISED = NO_WEEK  # ``arm`` of a citizen outside a trial (else PEER or SAU, peersim.trial)
FOREVER = np.iinfo(np.int32).max  # a week that never comes (follow-up not yet ended, no patience limit)
UNSCHEDULED = FOREVER  # ``ti_measure`` of a control whose site has not started a course since

BLOCK = 64      # citizens per block of the recovery stream (each block has its own generator)
CHUNK = 4096    # citizens evaluated together (bounds the memory of :meth:`CitizenRegistry.evaluate`)
# PREFIX[j] has the lowest j bits set: the sessions up to offset j - 1 of an attendance bit set
PREFIX = np.array([(1 << j) - 1 for j in range(64)] + [2**64 - 1], dtype=np.uint64)
_BIT_VALUE = np.array([float(1 << j) for j in range(53)])  # bit j's value (exact in float64)
_SESSION = np.arange(53)                                      # session offsets


@dataclass
class WeeklyRecovery:
    """Weekly figures of the citizens followed after starting a course, weeks ``0..week``."""

    qpr_mean: np.ndarray        # factual QPR-15 (clipped to 0-60), mean; NaN when nobody is followed
    qpr_cf_mean: np.ndarray     # counterfactual, likewise
    n_followed: np.ndarray      # how many
    new_successes: np.ndarray   # attributable successes reached in the week


class CitizenRegistry(ColumnStore):
    """Column store of all citizens in a run; row ``i`` is the citizen with ``idx == i``.

    The recovery columns (``x_cf``, ``effect``, ``success``, ``ti_success``, the ``qpr_*``
    records) and ``sessions`` of citizens still in a course are brought up to date by
    :meth:`evaluate`; :meth:`to_frame`, the model's ``timeseries()`` and the agents' ``qpr`` call
    it, so read them through those (or call :meth:`evaluate` first).
    """

    _FLOAT_FILL = np.nan
    _FLOAT = (
        "baseline", "mu", "x_cf", "effect", "resp", "p_attend", "u_decline", "gain", "fidelity",
        "qpr_end", "qpr_cf_end", "qpr_26w", "qpr_cf_26w", "qpr_trial", "qpr_cf_trial",
    )
    _INT = (
        "municipality", "subgroup", "state", "sessions", "course", "patience",
        "ti_referred", "ti_start", "ti_course_end", "ti_exit", "ti_success", "comp_until",
        "follow_last", "ti_volunteer", "arm", "ti_randomised", "ti_measure", "ti_measured",
    )
    _BOOL = ("companion", "completed", "success")
    _BITS = ("attended",)  # bit j: attended the session in week ti_start + j

    def __init__(self, recovery: RecoveryParams, course: CourseParams,
                 companionship: CompanionshipParams, rng: np.random.Generator, *,
                 seed: int, giveup_hazard: float, weeks: int,
                 n_municipalities: int = 1, capacity: int = 256) -> None:
        self.rp, self.cp, self.kp = recovery, course, companionship
        self.seed = seed            # for the per-citizen recovery sequences
        self.giveup_hazard = giveup_hazard
        self.waiting_n = [0] * n_municipalities  # waiting list lengths (a list: read and changed every week)
        self.waiting_total = 0                                       # their sum
        self.n = 0          # citizens so far
        self.lo = 0         # rows below lo are no longer followed (the active window is [lo, n))
        self.week = 0       # the last week completed (:meth:`end_week`)
        self.rng = rng      # the traits stream
        rho = recovery.weekly_persistence
        self.innovation_sd = recovery.fluctuation_sd * np.sqrt(1.0 - rho * rho)
        a = course.attendance_mean * course.attendance_concentration
        self.beta_ab = (a, course.attendance_concentration - a)
        # workshops[t, m]: municipality m's companionship workshops run in week t (recorded weekly)
        self.workshops = np.zeros((weeks + 1, n_municipalities), dtype=bool)
        self.comp_n = 0                                              # citizens in a companionship period
        self.in_course_n = 0                                         # citizens in a running course
        self.comp_last = np.full(n_municipalities, NO_WEEK, dtype=np.int64)  # latest comp_until by municipality
        self._giveups: dict[int, list[int]] = {}                     # week -> rows who give up then if waiting
        self._dropouts: dict[int, list[int]] = {}                    # week -> rows who drop out of their course
        self._comp_ends: dict[int, list[np.ndarray]] = {}            # week -> rows whose companionship ends
        self._evaluated: tuple[int, int] | None = None               # (week, n) of the last evaluation
        self._weekly: WeeklyRecovery | None = None
        self._alloc(capacity)
        self.trial = False  # set by the model in a trial: randomised citizens are followed until measured

    def _alloc(self, capacity: int) -> None:
        """Grow the columns to ``capacity`` rows; new rows get their traits drawn in one batch.

        Traits are drawn per row in referral order from the ``traits`` stream, so the n-th
        citizen referred in a run has the same traits whatever the scenario (common random
        numbers across scenarios compared with the same seed).
        """
        old_n = self.capacity
        self._grow(capacity)
        new = slice(old_n, capacity)
        k = capacity - old_n
        rp, rng = self.rp, self.rng
        sub = rng.choice(len(SUBGROUPS), size=k, p=rp.subgroup_shares)
        base = np.clip(np.asarray(rp.baseline_qpr_mean)[sub] + rp.baseline_qpr_sd * rng.standard_normal(k),
                       0.0, QPR_MAX)
        self.subgroup[new] = sub
        self.baseline[new] = base
        self.mu[new] = base + rp.sau_drift_qpr
        self.x_cf[new] = base  # brought up to date by evaluate()
        self.effect[new] = 0.0
        self.resp[new] = np.maximum(0.0, 1.0 + rp.effect_heterogeneity_sd * rng.standard_normal(k))
        self.p_attend[new] = rng.beta(*self.beta_ab, size=k)
        self.patience[new] = _geometric_weeks(1.0 - rng.random(k), self.giveup_hazard)
        self.u_decline[new] = rng.random(k)  # declines at referral if below the share declining
        for name in ("sessions", "state"):
            getattr(self, name)[new] = 0  # state 0 = WAITING
        self.gain[new] = 0.0
        self.follow_last[new] = FOREVER

    # -- creation ---------------------------------------------------------------------------
    def add(self, k: int, municipality: int, week: int) -> np.ndarray:
        """Create ``k`` referred citizens (their traits were drawn when rows were allocated);
        they join the waiting list and their patience starts to run."""
        if self.n + k > self.capacity:
            self._alloc(max(2 * self.capacity, self.n + k))
        first = self.n
        rows = slice(first, first + k)
        self.municipality[rows] = municipality
        self.ti_referred[rows] = week
        for r, wait in enumerate(self.patience[rows].tolist(), start=first):
            if wait < FOREVER:
                self._giveups.setdefault(week + wait, []).append(r)
        self.n += k
        self.waiting_n[municipality] += k
        self.waiting_total += k
        return np.arange(first, first + k)

    def refer(self, k: int, municipality: int, week: int, decline_share: float) -> tuple[np.ndarray, int]:
        """``k`` citizens referred in ``municipality``: they become rows, and those whose
        ``u_decline`` trait is below ``decline_share`` decline at once. Returns (rows, declined)."""
        rows = self.add(k, municipality, week)
        first = int(rows[0]) if k else 0
        declined = (self.u_decline[first: first + k] < decline_share).nonzero()[0] + first
        if declined.size:
            self.leave(declined, CitizenState.DECLINED, week)
        return rows, int(declined.size)

    # -- queries ----------------------------------------------------------------------------
    def window(self) -> slice:
        return slice(self.lo, self.n)

    def waiting(self, municipality: int) -> np.ndarray:
        """Rows on a municipality's waiting list, longest-waiting first."""
        w = self.window()
        mask = self.state[w] == _WAITING
        if len(self.waiting_n) > 1:
            mask &= self.municipality[w] == municipality
        return mask.nonzero()[0] + self.lo

    def companionship_open(self, municipality: int, week: int) -> bool:
        """Someone in ``municipality`` is in a companionship period this week."""
        return bool(self.comp_last[municipality] > week)

    # -- transitions ------------------------------------------------------------------------
    def _unwait(self, rows: np.ndarray) -> None:
        if rows.size:
            self.waiting_total -= rows.size
            wn = self.waiting_n
            if len(wn) == 1:
                wn[0] -= rows.size
            else:
                for m in self.municipality[rows].tolist():
                    wn[m] -= 1

    def leave(self, rows: np.ndarray, state: CitizenState, week: int) -> None:
        """Declined or gave up while waiting: out of the programme, no longer followed from this
        week (in a trial, randomised citizens stay followed until their measurement)."""
        self._unwait(rows)
        self.state[rows] = state
        self.ti_exit[rows] = week
        self.follow_last[rows] = week - 1
        if self.trial:
            keep = rows[self.arm[rows] != NOT_RANDOMISED]
            self.follow_last[keep] = np.maximum(self.ti_measure[keep], week)  # PEER rows: scheduled

    # -- the trial --------------------------------------------------------------------------
    def randomise(self, rows: np.ndarray, arms: np.ndarray, week: int, measure_delay: int) -> None:
        """Newly enrolled citizens (just added, waiting) get their arm. PEER stays on the waiting
        list, due for measurement ``measure_delay`` weeks later unless they are offered a course
        (:meth:`schedule_measurement`). SAU becomes a followed control, measured when the site's
        next course ends (:meth:`schedule_controls`)."""
        self.arm[rows] = arms
        self.ti_randomised[rows] = week
        self.ti_measure[rows] = np.where(arms == PEER, week + measure_delay, UNSCHEDULED)
        ctrl = rows[arms == SAU]
        self._unwait(ctrl)
        self.state[ctrl] = CitizenState.CONTROL

    def schedule_measurement(self, rows: np.ndarray, week: int) -> None:
        """Randomised citizens among ``rows`` who are not yet measured are due in ``week``."""
        rows = rows[(self.arm[rows] != NOT_RANDOMISED) & (self.ti_measured[rows] == NO_WEEK)]
        self.ti_measure[rows] = week
        self.follow_last[rows] = np.maximum(self.follow_last[rows], week)

    def schedule_controls(self, municipality: int, week: int, end_week: int) -> None:
        """A course started in ``week``: the municipality's controls randomised by then and not
        yet scheduled are measured when it ends (the time their PEER peers are measured)."""
        w = self.window()
        pending = ((self.ti_measure[w] == UNSCHEDULED) & (self.municipality[w] == municipality)
                   & (self.ti_randomised[w] <= week) & (self.arm[w] == SAU))
        rows = pending.nonzero()[0] + self.lo
        self.ti_measure[rows] = end_week
        self.follow_last[rows] = end_week

    def measure_trial(self, week: int) -> int:
        """Measure every randomised citizen who is due (once each); return how many. The scores
        measured (``qpr_trial``, ``qpr_cf_trial``) are those of the start of step 5 of ``week``."""
        w = self.window()
        due = ((self.ti_measure[w] <= week) & (self.ti_measured[w] == NO_WEEK)
               & (self.arm[w] != NOT_RANDOMISED) & ~MEASURE_LATER[self.state[w]])
        rows = due.nonzero()[0] + self.lo
        if rows.size:
            self.ti_measured[rows] = week
        return int(rows.size)

    def start_course(self, rows: np.ndarray, course_id: int, fidelity: float, week: int,
                     rng: np.random.Generator, attendance_rng: np.random.Generator) -> tuple[list[int], int]:
        """``rows`` join a course that starts this week (its first session is this week's).

        Who attends which session and who drops out when is drawn now, for the whole course:
        at each session a participant still in it drops out with ``dropout_per_session`` and
        otherwise attends with their own propensity (the same Bernoulli draws a session-by-session
        pass would make). Dropouts happen in their week (:meth:`drop_out`); a course stopped
        early keeps only the sessions held (:meth:`stop_course`). Returns the number attending
        each session and how many sessions are held before the last participant has dropped out
        (``sessions + 1`` if someone stays to the end).
        """
        rp, kp, cp = self.rp, self.kp, self.cp
        self._unwait(rows)
        self.state[rows] = CitizenState.IN_COURSE
        self.in_course_n += rows.size
        self.course[rows] = course_id
        self.ti_start[rows] = week
        self.fidelity[rows] = fidelity
        self.gain[rows] = (
            rp.effect_full_dose_qpr * self.resp[rows] * (fidelity / rp.fidelity_reference)
            / cp.sessions
        )
        comp = rng.random(len(rows)) < kp.uptake
        self.companion[rows] = comp
        until = week + kp.weeks_from_course_start
        with_comp = rows[comp]
        k = with_comp.size
        if k:
            self.comp_until[with_comp] = until
            self.comp_n += k
            self._comp_ends.setdefault(until, []).append(with_comp)
            m = int(self.municipality[rows[0]])  # a course's participants share its municipality
            self.comp_last[m] = max(self.comp_last[m], until)
        if self.trial:  # measured at the planned end of this course (its last session's week)
            self.schedule_measurement(rows, week + cp.sessions - 1)
        # the sessions: dropout session (geometric; never if it is past the last) and attendance
        S = cp.sessions
        u = attendance_rng.random((rows.size, S + 1))
        drop_at = _geometric_weeks(1.0 - u[:, 0], cp.dropout_per_session)
        attend = (u[:, 1:] < self.p_attend[rows][:, None]) & (_SESSION[:S] < drop_at[:, None])
        self.attended[rows] = (attend @ _BIT_VALUE[:S]).astype(np.uint64)
        self.sessions[rows] = 0  # attended so far (brought up to date by end_course and evaluate)
        empty_after = S + 1
        dropping = drop_at < S
        n_dropping = np.count_nonzero(dropping)
        if n_dropping:
            for r, j in zip(rows[dropping].tolist(), drop_at[dropping].tolist(), strict=True):
                self._dropouts.setdefault(week + j, []).append(r)
            if n_dropping == rows.size:
                empty_after = int(drop_at.max()) + 1
        return attend.sum(axis=0).tolist(), empty_after

    def drop_out(self, week: int) -> np.ndarray:
        """This week's dropouts (before the session): they leave their course; return them."""
        due = self._dropouts.pop(week, None)
        if not due:
            return NO_ROWS
        gone = np.array(due, dtype=np.int64)
        gone = gone[self.state[gone] == _IN_COURSE]
        self.in_course_n -= gone.size
        self.sessions[gone] = np.bitwise_count(self.attended[gone])  # none from this week on
        self.state[gone] = CitizenState.DROPPED_OUT
        self.ti_exit[gone] = week
        self.ti_course_end[gone] = week
        self.follow_last[gone] = week + self.rp.follow_up_weeks
        return gone

    def stop_course(self, rows: np.ndarray, week: int) -> None:
        """A course stops after this week's session: its participants attend no later ones."""
        rows = rows[self.state[rows] == _IN_COURSE]
        held = PREFIX[min(week - int(self.ti_start[rows[0]]) + 1, 64)] if rows.size else 0
        self.attended[rows] &= held

    def end_course(self, rows: np.ndarray, week: int) -> int:
        """The last session was held (or the course stopped): its participants leave it."""
        rows = rows[self.state[rows] == _IN_COURSE]
        self.in_course_n -= rows.size
        min_sessions = self.cp.completion_min_share * self.cp.sessions
        self.sessions[rows] = np.bitwise_count(self.attended[rows])
        done = self.sessions[rows] >= min_sessions
        self.completed[rows] = done
        self.ti_course_end[rows] = week
        self.follow_last[rows] = week + self.rp.follow_up_weeks
        in_comp = self.comp_until[rows] > week
        self.state[rows] = np.where(in_comp, CitizenState.COMPANIONSHIP, CitizenState.DONE)
        return int(np.count_nonzero(done))

    # -- the weekly pass --------------------------------------------------------------------
    def give_up(self, week: int) -> int:
        """Citizens whose patience runs out this week give up, if they are still waiting."""
        due = self._giveups.pop(week, None)
        if not due:
            return 0
        rows = np.array(due, dtype=np.int64)
        rows = rows[self.state[rows] == _WAITING]
        if rows.size:
            self.leave(rows, CitizenState.GAVE_UP, week)
        return int(rows.size)

    def end_week(self, week: int, workshops: np.ndarray) -> None:
        """The end of the week for citizens: record whose workshops ran, end the companionship
        periods that are over, and move the window past citizens no longer followed."""
        self.workshops[week] = workshops
        ends = self._comp_ends.pop(week, None)
        if ends:
            rows = np.concatenate(ends)
            self.comp_n -= rows.size
            rows = rows[self.state[rows] == _COMPANIONSHIP]
            self.state[rows] = CitizenState.DONE
        lo, n = self.lo, self.n
        if lo < n and self.follow_last[lo] <= week:
            still = self.follow_last[lo:n] > week
            self.lo = lo + int(np.argmax(still)) if still.any() else n
        self.week = week

    # -- recovery ---------------------------------------------------------------------------
    def evaluate(self) -> WeeklyRecovery:
        """Every citizen's recovery up to the last completed week (see the module docstring).

        Fills ``x_cf`` and ``effect`` (as of the citizen's last followed week), ``success``,
        ``ti_success``, ``qpr_end``/``qpr_cf_end``, ``qpr_26w``/``qpr_cf_26w`` and, in a trial,
        ``qpr_trial``/``qpr_cf_trial``; returns the weekly figures. Cached until the next week.
        """
        key = (self.week, self.n)
        if self._evaluated == key and self._weekly is not None:
            return self._weekly
        until = self.week
        w = self.window()
        now = (self.state[w] == CitizenState.IN_COURSE).nonzero()[0] + self.lo   # sessions so far
        if now.size:
            so_far = np.clip(until - self.ti_start[now] + 1, 0, 64)
            self.sessions[now] = np.bitwise_count(self.attended[now] & PREFIX[so_far])
        sums = np.zeros((3, until + 1))
        for lo in range(0, self.n, CHUNK):
            self._evaluate_rows(lo, min(self.n, lo + CHUNK), until, sums)
        n = sums[2]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_f, mean_cf = sums[0] / n, sums[1] / n
        hit = self.ti_success[: self.n][self.success[: self.n]]
        self._weekly = WeeklyRecovery(mean_f, mean_cf, n.astype(np.int64),
                                      np.bincount(hit, minlength=until + 1)[: until + 1])
        self._evaluated = key
        return self._weekly

    def _innovations(self, lo: int, hi: int, lengths: np.ndarray) -> np.ndarray:
        """The fluctuations ``eps[k, i]`` of rows ``lo..hi-1`` for their first ``lengths[i]``
        followed weeks (k-major). Block ``b`` of :data:`BLOCK` rows draws its own sequence, week
        by week for all its rows, so a citizen's k-th value never depends on how long the others
        are followed."""
        eps = np.zeros((int(lengths.max()), hi - lo))
        for b in range(lo // BLOCK, (hi - 1) // BLOCK + 1):
            a, z = max(lo, b * BLOCK), min(hi, (b + 1) * BLOCK)
            k = int(lengths[a - lo: z - lo].max())
            if k > 0:
                draws = substream(self.seed, "recovery", b).standard_normal((k, BLOCK))
                eps[:k, a - lo: z - lo] = draws[:, a - b * BLOCK: z - b * BLOCK]
        return eps

    def _evaluate_rows(self, lo: int, hi: int, until: int, sums: np.ndarray) -> None:
        rp = self.rp
        sl = slice(lo, hi)
        t_ref = self.ti_referred[sl].astype(np.int64)
        last = np.minimum(self.follow_last[sl], until).astype(np.int64)
        length = np.maximum(last - t_ref + 1, 0)       # followed weeks
        base, mu = self.baseline[sl], self.mu[sl]
        self.x_cf[sl] = base
        self.effect[sl] = 0.0
        self.success[sl] = False
        self.ti_success[sl] = NO_WEEK
        for col in ("qpr_end", "qpr_cf_end", "qpr_26w", "qpr_cf_26w", "qpr_trial", "qpr_cf_trial"):
            getattr(self, col)[sl] = np.nan
        K = int(length.max()) if length.size else 0
        measured = self.ti_measured[sl] if self.trial else None
        if K == 0:  # nobody here was followed for a week yet (a trial measurement sees the baseline)
            if measured is not None:
                m = measured >= 0
                self.qpr_trial[sl][m] = self.qpr_cf_trial[sl][m] = np.clip(base[m], 0.0, QPR_MAX)
            return
        R = hi - lo
        cols = np.arange(R)
        # counterfactual: x[k] is the score at the end of the citizen's k-th followed week
        x = self._innovations(lo, hi, length)
        x *= self.innovation_sd
        x[0] += rp.weekly_persistence * (base - mu)
        rho = rp.weekly_persistence
        for k in range(1, K):
            x[k] += rho * x[k - 1]
        x += mu
        at_last = np.maximum(length - 1, 0)
        followed_once = length > 0
        self.x_cf[sl] = np.where(followed_once, x[at_last, cols], base)

        def x_at(k: np.ndarray) -> np.ndarray:  # the score after followed week k (baseline before)
            k = np.minimum(k, length - 1)
            return np.where(k >= 0, x[np.maximum(k, 0), cols], base)

        if measured is not None:  # everyone measured: the counterfactual (starters get their effect below)
            m = np.flatnonzero(measured >= 0)
            if m.size:
                cf = np.clip(x_at(measured.astype(np.int64) - 1 - t_ref)[m], 0.0, QPR_MAX)
                self.qpr_cf_trial[lo + m] = cf
                self.qpr_trial[lo + m] = cf
        # the effect, for citizens who started a course
        s = np.flatnonzero(self.ti_start[sl] != NO_WEEK)
        if s.size:
            self._effect_and_success(lo, s, t_ref[s], length[s], x[:, s], until, sums)

    def _effect_and_success(self, lo: int, s: np.ndarray, t_ref: np.ndarray, length: np.ndarray,
                            x: np.ndarray, until: int, sums: np.ndarray) -> None:
        """Effect, success, the end-of-course, 26-week and trial records of the rows ``lo + s``
        who started a course; ``x`` holds their counterfactual scores (k-major)."""
        rp = self.rp
        rows = lo + s
        K, n = x.shape
        cols = np.arange(n)
        dose, decay, t = self._effect(rows, t_ref, K, until)
        E = dose * decay
        k = np.arange(K)[:, None]
        valid = k < length
        on = valid & (t >= self.ti_start[rows])           # followed, the course has started
        base = self.baseline[rows]
        gain_cf = x - base
        thr, S = rp.success_improvement_qpr, rp.success_sustain_weeks
        run_f = _run_lengths(on & (gain_cf + E >= thr))
        run_cf = _run_lengths(on & (gain_cf >= thr))
        hit = (run_f >= S) & (run_cf < S)
        got = hit.any(axis=0)
        self.success[rows] = got
        self.ti_success[rows] = np.where(got, t_ref + hit.argmax(axis=0), NO_WEEK)
        # weekly means over followed starters
        f = np.clip(x + E, 0.0, QPR_MAX)
        cf = np.clip(x, 0.0, QPR_MAX)
        weeks = t[on]
        sums[0] += np.bincount(weeks, weights=f[on], minlength=until + 1)
        sums[1] += np.bincount(weeks, weights=cf[on], minlength=until + 1)
        sums[2] += np.bincount(weeks, minlength=until + 1)
        at_last = np.maximum(length - 1, 0)
        self.effect[rows] = np.where(length > 0, E[at_last, cols], 0.0)

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
        t_end = self.ti_course_end[rows].astype(np.int64)
        ended = np.flatnonzero(t_end != NO_WEEK)
        if ended.size:
            self.qpr_end[rows[ended]], self.qpr_cf_end[rows[ended]] = during(t_end[ended], ended)
            k26 = t_end[ended] + 26 - t_ref[ended]
            ok = k26 < length[ended]
            e26, c26 = ended[ok], k26[ok]
            self.qpr_cf_26w[rows[e26]] = cf[c26, e26]
            self.qpr_26w[rows[e26]] = f[c26, e26]
        if self.trial:  # the trial measurement (start of step 5)
            tm = self.ti_measured[rows].astype(np.int64)
            mm = np.flatnonzero(tm >= 0)
            if mm.size:
                self.qpr_trial[rows[mm]], self.qpr_cf_trial[rows[mm]] = during(tm[mm], mm)

    def _effect(self, rows: np.ndarray, t_ref: np.ndarray, K: int,
                until: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For ``rows`` over K weeks from referral (k-major): the dose (gain x sessions attended
        up to the end of week k), the decay (share of it left at the end of week k) and the
        week's number; the effect is dose x decay."""
        rp = self.rp
        t = t_ref + np.arange(K)[:, None]
        offset = t - self.ti_start[rows]                 # session offset since the course started
        sessions = np.bitwise_count(self.attended[rows] & PREFIX[np.clip(offset + 1, 0, 64)])
        t_end = self.ti_course_end[rows]
        after = (t_end != NO_WEEK) & (t >= t_end)
        workshops = (self.comp_until[rows] > t) & self.workshops[np.minimum(t, until), self.municipality[rows]]
        keep = np.where(after, np.where(workshops, 1.0 - rp.decay_per_week_companionship,
                                        1.0 - rp.decay_per_week), 1.0)
        return self.gain[rows] * sessions, np.cumprod(keep, axis=0), t

    # -- output -----------------------------------------------------------------------------
    def to_frame(self, municipality_names: list[str]) -> pd.DataFrame:
        self.evaluate()
        n = self.n
        sl = slice(0, n)

        wk = self.weeks

        effect_end = self.qpr_end[sl] - self.qpr_cf_end[sl]
        states = [c.name.lower() for c in CitizenState]
        if not self.trial:  # outside a trial the categories stay those of the programme's states
            states = states[: CitizenState.CONTROL]
        frame = pd.DataFrame({
            "citizen_id": np.arange(n),
            "municipality": pd.Categorical.from_codes(self.municipality[sl], municipality_names),
            "subgroup": pd.Categorical.from_codes(self.subgroup[sl], list(SUBGROUPS)),
            "state": pd.Categorical.from_codes(self.state[sl], states),
            "started": self.ti_start[sl] != NO_WEEK,
            "completed": self.completed[sl],
            "sessions_attended": self.sessions[sl],
            "course_id": wk(self.course),
            "fidelity": self.fidelity[sl],
            "companionship": self.companion[sl],
            "ti_referred": wk(self.ti_referred),
            "ti_start": wk(self.ti_start),
            "ti_course_end": wk(self.ti_course_end),
            "ti_exit": wk(self.ti_exit),
            "wait_weeks": pd.arrays.IntegerArray((self.ti_start[sl] - self.ti_referred[sl]).astype(np.int32),
                                                 self.ti_start[sl] == NO_WEEK),
            "qpr_baseline": self.baseline[sl],
            "qpr_end_course": self.qpr_end[sl],
            "qpr_cf_end_course": self.qpr_cf_end[sl],
            "qpr_effect_end_course": effect_end,
            "qpr_26w": self.qpr_26w[sl],
            "qpr_cf_26w": self.qpr_cf_26w[sl],
            "success": self.success[sl],
            "ti_success": wk(self.ti_success),
            "ti_volunteer": wk(self.ti_volunteer),
        })
        if self.trial:
            names = [ARM_NAMES[code] for code in range(len(ARM_NAMES))]  # SAU = 0, PEER = 1
            frame["trial_arm"] = pd.Categorical.from_codes(self.arm[sl], names)  # NOT_RANDOMISED (-1): missing
            frame["ti_randomised"] = wk(self.ti_randomised)
            frame["ti_trial_measured"] = wk(self.ti_measured)
            frame["qpr_trial"] = self.qpr_trial[sl]
            frame["qpr_cf_trial"] = self.qpr_cf_trial[sl]
        return frame


def _geometric_weeks(u: np.ndarray, hazard: float) -> np.ndarray:
    """Weeks ``G >= 0`` before an event of constant weekly ``hazard``, by inversion of uniforms
    ``u`` in (0, 1]: ``P(G >= g) = (1 - hazard)^g``. FOREVER when the hazard is 0."""
    if hazard <= 0.0:
        return np.full(u.shape, FOREVER, dtype=np.int64)
    if hazard >= 1.0:
        return np.zeros(u.shape, dtype=np.int64)
    g = np.floor(np.log(u) / np.log1p(-hazard))
    return np.minimum(g, FOREVER).astype(np.int64)


def _run_lengths(ok: np.ndarray) -> np.ndarray:
    """For a (weeks x rows) mask, how many consecutive weeks up to each week it has held."""
    k = np.arange(ok.shape[0])[:, None]
    last_miss = np.maximum.accumulate(np.where(ok, -1, k), axis=0)
    return k - last_miss


class Citizen(Agent):
    """A referred citizen: a Mesa agent whose state is one row of the model's registry."""

    def __init__(self, model: PeersimModel, idx: int) -> None:
        super().__init__(model)
        self.idx = idx

    @property
    def state(self) -> CitizenState:
        return CitizenState(self.model.citizens.state[self.idx])

    @property
    def subgroup(self) -> str:
        return SUBGROUPS[self.model.citizens.subgroup[self.idx]]

    @property
    def qpr(self) -> float:
        """QPR-15 at the end of the last completed week (frozen after follow-up).

        Asking recomputes every citizen's recovery once per week asked (then it is cached): to
        follow scores over a run, read the weekly means of ``model.timeseries()`` or the
        citizens' records at the end rather than every agent's ``qpr`` every week."""
        reg = self.model.citizens
        reg.evaluate()
        return float(np.clip(reg.x_cf[self.idx] + reg.effect[self.idx], 0, QPR_MAX))

    @property
    def qpr_counterfactual(self) -> float:
        reg = self.model.citizens
        reg.evaluate()
        return float(np.clip(reg.x_cf[self.idx], 0, QPR_MAX))
