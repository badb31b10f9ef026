"""Citizens: referred adults, their course, recovery (QPR-15) and attributable success.

Only people who meet the programme become agents: a citizen is created when referred. Each
citizen is a Mesa agent whose per-week state lives in the columns of a :class:`CitizenRegistry`
(a struct of numpy arrays), so the weekly work on all citizens is one vectorised pass.

Recovery. A citizen's service-as-usual (counterfactual) QPR-15 follows an AR(1) process around a
personal level ``mu = baseline + sau_drift``. The programme adds an attributable effect ``E``:
it grows with each session attended (by ``effect_full_dose * responsiveness * fidelity /
fidelity_reference / sessions``) and, after the course, decays by a weekly share (more slowly in
companionship while workshops run). The factual score is ``counterfactual + E``: both worlds use
the same random numbers, so the effect attributable to the programme is known per citizen.

Attributable success (SØM sense): the factual score stays at least ``success_improvement_qpr``
above the citizen's baseline for ``success_sustain_weeks`` consecutive weeks, while over the same
weeks the counterfactual did not. It is recorded once, with its week.

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

The measurement is taken at the start of step 5 of its week, i.e. with the week's sessions but
before the week's fluctuation, like ``qpr_end_course``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from mesa import Agent

from peersim.registry import NO_WEEK, ColumnStore

from peersim.params import SUBGROUPS, CompanionshipParams, CourseParams, RecoveryParams
from peersim.trial import PEER, SAU

if TYPE_CHECKING:
    from peersim.model import PeersimModel

QPR_MAX = 60.0


class CitizenState(IntEnum):
    WAITING = 0        # referred, on the municipality's waiting list
    IN_COURSE = 1      # enrolled in a running course
    COMPANIONSHIP = 2  # course over, companionship period running
    DONE = 3           # course (and companionship) over
    DECLINED = 4       # declined at referral or declined the seat offered
    GAVE_UP = 5        # gave up while waiting
    DROPPED_OUT = 6    # left the course before its end
    CONTROL = 7        # randomised to service as usual in a trial: followed until measured, never offered a course


AFTER_COURSE = np.zeros(len(CitizenState), dtype=bool)   # states in which the effect decays
AFTER_COURSE[[CitizenState.COMPANIONSHIP, CitizenState.DONE, CitizenState.DROPPED_OUT]] = True
# states in which a randomised citizen's trial measurement waits (they may still start a course)
MEASURE_LATER = np.zeros(len(CitizenState), dtype=bool)
MEASURE_LATER[[CitizenState.WAITING, CitizenState.IN_COURSE]] = True
NOT_RANDOMISED = NO_WEEK  # ``arm`` of a citizen outside a trial (else PEER or SAU, peersim.trial)
UNSCHEDULED = np.iinfo(np.int32).max  # ``ti_measure`` of a control whose site has not started a course since


class CitizenRegistry(ColumnStore):
    _FLOAT_FILL = np.nan
    """Column store of all citizens in a run; row ``i`` is the citizen with ``idx == i``."""

    _FLOAT = (
        "baseline", "mu", "x_cf", "effect", "resp", "p_attend", "gain", "fidelity",
        "qpr_end", "qpr_cf_end", "qpr_26w", "qpr_cf_26w", "qpr_trial", "qpr_cf_trial",
    )
    _INT = (
        "municipality", "subgroup", "state", "sessions", "course", "run_f", "run_cf",
        "ti_referred", "ti_start", "ti_course_end", "ti_exit", "ti_success", "comp_until",
        "follow_until", "ti_volunteer", "arm", "ti_randomised", "ti_measure", "ti_measured",
    )
    _BOOL = ("companion", "completed", "success", "followed")

    def __init__(self, recovery: RecoveryParams, course: CourseParams,
                 companionship: CompanionshipParams, rng: np.random.Generator,
                 n_municipalities: int = 1, capacity: int = 256) -> None:
        self.rp, self.cp, self.kp = recovery, course, companionship
        self.waiting_n = np.zeros(n_municipalities, dtype=np.int64)  # waiting list lengths
        self.n = 0          # citizens so far
        self.lo = 0         # rows below lo are no longer followed (the active window is [lo, n))
        self.rng = rng      # the traits stream
        rho = recovery.weekly_persistence
        self.innovation_sd = recovery.fluctuation_sd * np.sqrt(1.0 - rho * rho)
        a = course.attendance_mean * course.attendance_concentration
        self.beta_ab = (a, course.attendance_concentration - a)
        self._alloc(capacity)
        self.means = (np.nan, np.nan, 0)  # this week's (factual, counterfactual, n) of started citizens
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
        self.x_cf[new] = base
        self.effect[new] = 0.0
        self.resp[new] = np.maximum(0.0, 1.0 + rp.effect_heterogeneity_sd * rng.standard_normal(k))
        self.p_attend[new] = rng.beta(*self.beta_ab, size=k)
        for name in ("sessions", "run_f", "run_cf", "state"):
            getattr(self, name)[new] = 0  # state 0 = WAITING
        self.follow_until[new] = np.iinfo(np.int32).max

    # -- creation ---------------------------------------------------------------------------
    def add(self, k: int, municipality: int, week: int) -> np.ndarray:
        """Create ``k`` referred citizens (their traits were drawn when rows were allocated)."""
        if self.n + k > self.capacity:
            self._alloc(max(2 * self.capacity, self.n + k))
        rows = slice(self.n, self.n + k)
        self.municipality[rows] = municipality
        self.ti_referred[rows] = week
        self.followed[rows] = True
        self.n += k
        self.waiting_n[municipality] += k
        return np.arange(rows.start, rows.stop)

    # -- queries ----------------------------------------------------------------------------
    def window(self) -> slice:
        return slice(self.lo, self.n)

    def waiting(self, municipality: int) -> np.ndarray:
        """Rows on a municipality's waiting list, longest-waiting first."""
        w = self.window()
        mask = (self.state[w] == CitizenState.WAITING) & (self.municipality[w] == municipality)
        return mask.nonzero()[0] + self.lo

    def count_state(self, state: CitizenState) -> int:
        w = self.window()
        return int(np.count_nonzero(self.state[w] == state))

    # -- transitions ------------------------------------------------------------------------
    def _unwait(self, rows: np.ndarray) -> None:
        if rows.size:
            self.waiting_n -= np.bincount(self.municipality[rows], minlength=self.waiting_n.size)

    def leave(self, rows: np.ndarray, state: CitizenState, week: int) -> None:
        """Declined or gave up while waiting: out of the programme, no longer followed (in a
        trial, randomised citizens stay followed until their measurement)."""
        self._unwait(rows)
        self.state[rows] = state
        self.ti_exit[rows] = week
        self.followed[rows] = False
        if self.trial:
            keep = rows[self.arm[rows] != NOT_RANDOMISED]
            self.followed[keep] = True
            self.follow_until[keep] = np.maximum(self.ti_measure[keep], week)  # PEER rows: scheduled

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
        self.follow_until[rows] = np.maximum(self.follow_until[rows], week)

    def schedule_controls(self, municipality: int, week: int, end_week: int) -> None:
        """A course started in ``week``: the municipality's controls randomised by then and not
        yet scheduled are measured when it ends (the time their PEER peers are measured)."""
        w = self.window()
        pending = ((self.ti_measure[w] == UNSCHEDULED) & (self.municipality[w] == municipality)
                   & (self.ti_randomised[w] <= week) & (self.arm[w] == SAU))
        rows = pending.nonzero()[0] + self.lo
        self.ti_measure[rows] = end_week
        self.follow_until[rows] = end_week

    def measure_trial(self, week: int) -> int:
        """Measure every randomised citizen who is due (once each); return how many."""
        w = self.window()
        due = ((self.ti_measure[w] <= week) & (self.ti_measured[w] == NO_WEEK)
               & (self.arm[w] != NOT_RANDOMISED) & ~MEASURE_LATER[self.state[w]])
        rows = due.nonzero()[0] + self.lo
        if rows.size:
            self.ti_measured[rows] = week
            self.qpr_cf_trial[rows] = np.clip(self.x_cf[rows], 0.0, QPR_MAX)
            self.qpr_trial[rows] = np.clip(self.x_cf[rows] + self.effect[rows], 0.0, QPR_MAX)
        return int(rows.size)

    def start_course(self, rows: np.ndarray, course_id: int, fidelity: float, week: int,
                     rng: np.random.Generator) -> None:
        rp, kp = self.rp, self.kp
        self._unwait(rows)
        self.state[rows] = CitizenState.IN_COURSE
        self.course[rows] = course_id
        self.ti_start[rows] = week
        self.fidelity[rows] = fidelity
        self.gain[rows] = (
            rp.effect_full_dose_qpr * self.resp[rows] * (fidelity / rp.fidelity_reference)
            / self.cp.sessions
        )
        comp = rng.random(len(rows)) < kp.uptake
        self.companion[rows] = comp
        self.comp_until[rows] = np.where(comp, week + kp.weeks_from_course_start, NO_WEEK)
        if self.trial:  # measured at the planned end of this course (its last session's week)
            self.schedule_measurement(rows, week + self.cp.sessions - 1)

    def hold_sessions(self, week: int, rng: np.random.Generator) -> tuple[int, int]:
        """One session of every running course: dropout, then attendance and effect growth.

        Returns (dropouts, attendances) this week.
        """
        w = self.window()
        rows = (self.state[w] == CitizenState.IN_COURSE).nonzero()[0] + self.lo
        if rows.size == 0:
            return 0, 0
        u = rng.random((2, rows.size))
        drop = u[0] < self.cp.dropout_per_session
        attend = ~drop & (u[1] < self.p_attend[rows])
        if drop.any():
            gone = rows[drop]
            self.state[gone] = CitizenState.DROPPED_OUT
            self.ti_exit[gone] = week
            self.ti_course_end[gone] = week
            self.follow_until[gone] = week + self.rp.follow_up_weeks
            self._record_end(gone)
        att = rows[attend]
        self.sessions[att] += 1
        self.effect[att] += self.gain[att]
        return int(drop.sum()), int(attend.sum())

    def end_course(self, rows: np.ndarray, week: int) -> int:
        """The last session was held: completers and non-completers leave the course."""
        rows = rows[self.state[rows] == CitizenState.IN_COURSE]
        min_sessions = self.cp.completion_min_share * self.cp.sessions
        self.completed[rows] = self.sessions[rows] >= min_sessions
        self.ti_course_end[rows] = week
        self.follow_until[rows] = week + self.rp.follow_up_weeks
        in_comp = self.companion[rows] & (self.comp_until[rows] > week)
        self.state[rows] = np.where(in_comp, CitizenState.COMPANIONSHIP, CitizenState.DONE)
        self._record_end(rows)
        return int(self.completed[rows].sum())

    def cancel_course(self, rows: np.ndarray, week: int) -> None:
        """A course stopped early (no replacement leader): participants end where they are."""
        self.end_course(rows, week)

    def _record_end(self, rows: np.ndarray) -> None:
        self.qpr_cf_end[rows] = np.clip(self.x_cf[rows], 0.0, QPR_MAX)
        self.qpr_end[rows] = np.clip(self.x_cf[rows] + self.effect[rows], 0.0, QPR_MAX)

    # -- the weekly pass --------------------------------------------------------------------
    def give_up(self, week: int, hazard: float, rng: np.random.Generator) -> int:
        if hazard <= 0 or not self.waiting_n.any():
            return 0
        w = self.window()
        rows = (self.state[w] == CitizenState.WAITING).nonzero()[0] + self.lo
        if rows.size == 0:
            return 0
        quit_ = rows[rng.random(rows.size) < hazard]
        self.leave(quit_, CitizenState.GAVE_UP, week)
        return int(quit_.size)

    def recover(self, week: int, workshop_active: np.ndarray, rng: np.random.Generator) -> int:
        """Advance every followed citizen's QPR one week; return the number of new successes.

        Works on views of the active window ``[lo, n)``. ``workshop_active[m]`` says whether
        municipality ``m`` runs companionship workshops now.
        """
        rp = self.rp
        lo, n = self.lo, self.n
        if lo >= n:
            self.means = (np.nan, np.nan, 0)
            return 0
        w = slice(lo, n)
        fol = self.followed[w]
        x, mu, eff = self.x_cf[w], self.mu[w], self.effect[w]
        new_x = mu + rp.weekly_persistence * (x - mu) + self.innovation_sd * rng.standard_normal(n - lo)
        np.copyto(x, new_x, where=fol)
        st = self.state[w]
        comp_until = self.comp_until[w]
        after = AFTER_COURSE[st] & fol
        if after.any():
            comp = (comp_until > week) & workshop_active[self.municipality[w]]
            keep = np.where(comp, 1.0 - rp.decay_per_week_companionship, 1.0 - rp.decay_per_week)
            np.multiply(eff, keep, out=eff, where=after)
            st[(st == CitizenState.COMPANIONSHIP) & (comp_until <= week)] = CitizenState.DONE
        # attributable success among followed citizens who started a course
        started = fol & (self.ti_start[w] != NO_WEEK)
        k = int(np.count_nonzero(started))
        new = 0
        if k:
            gain = x - self.baseline[w]
            thr = rp.success_improvement_qpr
            run_f, run_cf = self.run_f[w], self.run_cf[w]
            run_f[:] = np.where(started & (gain + eff >= thr), run_f + 1, 0)
            run_cf[:] = np.where(started & (gain >= thr), run_cf + 1, 0)
            hit = (run_f >= rp.success_sustain_weeks) & (run_cf < rp.success_sustain_weeks)
            succ = self.success[w]
            hit &= ~succ
            new = int(np.count_nonzero(hit))
            if new:
                succ[hit] = True
                self.ti_success[w][hit] = week
            fx = np.clip(x[started] + eff[started], 0.0, QPR_MAX)
            cx = np.clip(x[started], 0.0, QPR_MAX)
            self.means = (float(fx.sum() / k), float(cx.sum() / k), k)
            at26 = self.ti_course_end[w] == week - 26
            if at26.any():
                self.qpr_cf_26w[w][at26] = np.clip(x[at26], 0.0, QPR_MAX)
                self.qpr_26w[w][at26] = np.clip(x[at26] + eff[at26], 0.0, QPR_MAX)
        else:
            self.means = (np.nan, np.nan, 0)
        # follow-up ends; move the window's lower edge past citizens no longer followed
        fol &= self.follow_until[w] > week
        if not fol[0]:
            self.lo = lo + int(np.argmax(fol)) if fol.any() else n
        return new

    # -- output -----------------------------------------------------------------------------
    def to_frame(self, municipality_names: list[str]) -> pd.DataFrame:
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
            "wait_weeks": (pd.Series(self.ti_start[sl] - self.ti_referred[sl], dtype="Int32")
                           .mask(self.ti_start[sl] == NO_WEEK)),
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
            names = ["", ""]
            names[SAU], names[PEER] = "sau", "peer"
            frame["trial_arm"] = pd.Categorical.from_codes(self.arm[sl], names)  # NOT_RANDOMISED (-1): missing
            frame["ti_randomised"] = wk(self.ti_randomised)
            frame["ti_trial_measured"] = wk(self.ti_measured)
            frame["qpr_trial"] = self.qpr_trial[sl]
            frame["qpr_cf_trial"] = self.qpr_cf_trial[sl]
        return frame


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
        reg = self.model.citizens
        return float(np.clip(reg.x_cf[self.idx] + reg.effect[self.idx], 0, QPR_MAX))

    @property
    def qpr_counterfactual(self) -> float:
        return float(np.clip(self.model.citizens.x_cf[self.idx], 0, QPR_MAX))
