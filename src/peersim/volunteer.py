"""Volunteer peers: recruitment, training, leading, strain, burnout, return and exit.

State machine (one row of :class:`VolunteerRegistry` per volunteer)::

    RECRUITED -> IN_TRAINING -> AVAILABLE <-> LEADING -> RESTING -> AVAILABLE
                      |                          |   \\-> BURNED_OUT -> RESTING (returned) | LEFT
                      +-> LEFT (training dropout) +-----> LEFT (exit hazard)

Strain (unitless, 0 = rested) builds each week of leading by ``strain_per_course_week``, reduced
by supervision (relative to the standard amount) and by an experienced co-leader, and falls by a
weekly share when not leading. Burnout (a pause) is a logistic hazard in strain around
``burnout_threshold``; exit is a hazard that grows with strain. Burnout sets the volunteer's own
recovery back (QPR-15 points, regained slowly). Former participants can join later.

Random numbers: each volunteer draws from the block stream of their place in the run's
recruitment order (:data:`BLOCK` volunteers a block): a training-dropout uniform when recruited,
and for every week of the run a burnout and an exit uniform (:class:`_WeeklyDraws`, a year of
weeks at a time). A burnout's own uniform, rescaled, also decides whether the volunteer leaves
after the pause and how long the pause lasts (:func:`after_burnout`). The k-th volunteer of a seed therefore meets
the same luck in the same week in every scenario, however many others are on duty.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from enum import IntEnum
from typing import NamedTuple

import numpy as np
import pandas as pd
from mesa import Agent, Model

from peersim.params import VolunteerParams
from peersim.registry import NO_ROWS, NO_WEEK, ColumnStore
from peersim.streams import substream
from peersim.vocabulary import WEEKS_PER_YEAR


class VolunteerState(IntEnum):
    """Where a volunteer is in the pipeline (the registry's ``state`` column)."""

    RECRUITED = 0     # recruited, waiting for the next training cohort
    IN_TRAINING = 1
    AVAILABLE = 2     # trained and ready to co-lead
    LEADING = 3       # co-leading a running course
    RESTING = 4       # between courses, or back from a pause
    BURNED_OUT = 5    # paused by burnout
    LEFT = 6          # gone for good


ON_DUTY = (VolunteerState.AVAILABLE, VolunteerState.LEADING, VolunteerState.RESTING)


@functools.cache
def state_table(*states: VolunteerState) -> np.ndarray:
    """A lookup table: ``state_table(A, B)[state_array]`` is the mask of rows in A or B.

    Cached (read-only): the coordinators ask for the same few tables several times a week."""
    table = np.zeros(len(VolunteerState), dtype=bool)
    table[list(states)] = True
    table.flags.writeable = False
    return table


ON_DUTY_TABLE = state_table(*ON_DUTY)
_LEADING, _AVAILABLE, _RESTING, _BURNED_OUT = (int(VolunteerState.LEADING), int(VolunteerState.AVAILABLE),
                                               int(VolunteerState.RESTING), int(VolunteerState.BURNED_OUT))


class VolunteerWeek(NamedTuple):
    """The rows whose state changed in a week's :meth:`VolunteerRegistry.step`."""

    burned: np.ndarray     # burned out (paused)
    left: np.ndarray       # left for good (exit hazard, or not back after a pause)
    returned: np.ndarray   # back from a pause, resting before they lead again


BLOCK = 64  # volunteers a block of their random streams (the k-th recruited is in block k // BLOCK)


def hazard_thresholds(vp: VolunteerParams, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The burnout and exit draws ``u[0]``, ``u[1]`` as strain thresholds.

    Burnout has the weekly probability ``p_b(s) = max / (1 + exp((threshold - s) / steepness))``
    and, if not burned out, exit ``p_x(s) = 1 - exp(-(rate + rate_strain * s) / 52)``; both grow
    with strain ``s``. A volunteer with uniform draw ``u`` burns out when ``u < p_b(s)``, which is
    ``s > threshold - steepness * log(max / u - 1)`` (never when ``u >= max``), and leaves when
    ``u' < p_x(s)``, which is ``rate + rate_strain * s > -52 log(1 - u')``. The right-hand sides
    depend on the draws only, so they are computed for a year of draws at once and each week
    compares the strains with its own: the same Bernoulli draws, without the per-week arithmetic.
    """
    top = vp.burnout_hazard_max_per_week
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = top / u[0] - 1.0
        burn = np.where(odds > 0, vp.burnout_threshold - vp.burnout_steepness * np.log(odds), np.inf)
        need = -WEEKS_PER_YEAR * np.log1p(-u[1]) - vp.exit_rate_per_year   # exit when rate_strain * s > need
        if vp.exit_rate_strain_per_year > 0:
            exit_ = need / vp.exit_rate_strain_per_year
        else:
            exit_ = np.where(need < 0, -np.inf, np.inf)
    return burn, exit_


def after_burnout(u: np.ndarray, p: np.ndarray, leave_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Whether volunteers who burned out with uniform draws ``u`` below their burnout probability
    ``p`` leave after the pause, and a uniform for the pause's length, from ``u`` alone.

    Given a burnout, ``v = u / p`` is uniform on (0, 1); the volunteer leaves after the pause if
    ``v < leave_share``, and ``v`` rescaled within the part it fell in (``v / leave_share`` or
    ``(v - leave_share) / (1 - leave_share)``) is again uniform and independent of that choice:
    exactly the two independent draws a burnout needs, without drawing them for every week."""
    v = np.minimum(u / p, np.nextafter(1.0, 0.0))
    leave = v < leave_share
    w = np.where(leave, v / leave_share if leave_share > 0 else 0.0,
                 (v - leave_share) / (1.0 - leave_share) if leave_share < 1 else 0.0)
    return leave, w


class _WeeklyDraws:
    """Every volunteer's burnout and exit draws of the weeks of one year of the run (weeks
    ``52 y + 1`` to ``52 y + 52``): ``hazard[w, 0, i]`` and ``hazard[w, 1, i]``, the strain
    thresholds (:func:`hazard_thresholds`), and ``burn_u[w, i]``, the burnout uniform itself
    (:func:`after_burnout`), for volunteer row ``i`` and week ``w`` of the year. Block ``b`` of rows
    draws year ``y`` from its own stream, so the draws of a volunteer's week never depend on the
    other volunteers."""

    def __init__(self, vp: VolunteerParams, seed: int) -> None:
        self.vp, self.seed = vp, seed
        self.year = -1
        self.rows = 0   # rows covered
        self.hazard = np.empty((WEEKS_PER_YEAR, 2, 0))
        self.burn_u = np.empty((WEEKS_PER_YEAR, 0))

    def cover(self, year: int, n: int) -> None:
        """Make the draws of ``year`` (0 = the run's first) cover rows ``0..n-1``."""
        if year != self.year:
            self.year, self.rows = year, 0
            self.hazard = np.empty((WEEKS_PER_YEAR, 2, 0))
            self.burn_u = np.empty((WEEKS_PER_YEAR, 0))
        first, need = self.rows // BLOCK, -(-n // BLOCK)
        u = np.concatenate([substream(self.seed, "volunteer_weeks", b, year).random((2, WEEKS_PER_YEAR, BLOCK))
                            for b in range(first, need)], axis=2)
        burn, exit_ = hazard_thresholds(self.vp, u)
        self.hazard = np.concatenate([self.hazard, np.stack([burn, exit_], axis=1)], axis=2)
        self.burn_u = np.concatenate([self.burn_u, u[0]], axis=1)
        self.rows = need * BLOCK


class VolunteerRegistry(ColumnStore):
    """Column store of all volunteers in a run; row ``i`` is the volunteer with ``idx == i``.

    Every change of state goes through :meth:`set_state`, which keeps the counts by coordinator
    and state (:meth:`count_in`) that the coordinators ask for several times a week. The end of a
    pause (geometric, drawn when the volunteer burns out) and the end of a rest (fixed) are
    scheduled for their week instead of being looked for every week.
    """

    _FLOAT = ("strain", "quality", "setback", "peak_strain", "lead_strain", "u_training")
    _INT = ("coordinator", "state", "courses_led", "n_burnouts", "n_returns", "course",
            "ti_recruited", "ti_trained", "ti_burnout", "ti_left", "rest_until", "citizen_id", "setback_week")
    _BOOL = ("leave_after", "coleader_exp", "former_participant")

    def __init__(self, vp: VolunteerParams, capacity: int = 64, n_coordinators: int = 1, seed: int = 0) -> None:
        self.vp = vp
        self.seed = seed    # for each volunteer's own random numbers
        self.n = 0
        self.week = 0   # the last week stepped
        self.n_coordinators = n_coordinators
        self._counts: np.ndarray | None = None          # (coordinator, state) -> volunteers; None: stale
        self._pause_ends: dict[int, list[np.ndarray]] = {}   # week -> rows whose pause ends then
        self._rest_ends: dict[int, list[np.ndarray]] = {}    # week -> rows whose rest ends then
        self._duty: np.ndarray | None = None             # rows on duty (None: stale)
        self._leading: np.ndarray | None = None          # rows leading (None: stale)
        self._weekly = _WeeklyDraws(vp, seed)
        self._grow(capacity)

    def _grow(self, capacity: int) -> None:
        """Grow the columns; the new rows get their training-dropout draws (by block)."""
        old = self.capacity
        super()._grow(capacity)
        for b in range(old // BLOCK, -(-capacity // BLOCK)):
            lo, hi = max(old, b * BLOCK), min(capacity, (b + 1) * BLOCK)
            self.u_training[lo:hi] = substream(self.seed, "volunteer", b).random(BLOCK)[lo - b * BLOCK: hi - b * BLOCK]

    def add(self, k: int, coordinator: int, week: int, *, citizen_ids: np.ndarray | None = None) -> np.ndarray:
        if self.n + k > self.capacity:
            self._grow(max(2 * self.capacity, self.n + k))
        rows = np.arange(self.n, self.n + k)
        self.coordinator[rows] = coordinator
        self.state[rows] = VolunteerState.RECRUITED
        self.ti_recruited[rows] = week
        self.courses_led[rows] = 0
        self.n_burnouts[rows] = 0
        self.n_returns[rows] = 0
        if citizen_ids is not None:
            self.citizen_id[rows] = citizen_ids
            self.former_participant[rows] = True
        self.n += k
        if self._counts is not None:
            self._counts[coordinator][VolunteerState.RECRUITED] += k
            self._counts[-1][VolunteerState.RECRUITED] += k
        return rows

    # -- states -----------------------------------------------------------------------------
    def set_state(self, rows: np.ndarray, state: VolunteerState) -> None:
        if not rows.size:
            return
        counts = self._counts
        if counts is not None and rows.size <= 8:  # a few: move them between the counts
            total = counts[-1]
            for c, old in zip(self.coordinator[rows].tolist(), self.state[rows].tolist(), strict=True):
                counts[c][old] -= 1
                counts[c][state] += 1
                total[old] -= 1
                total[state] += 1
            self.state[rows] = state
            self._duty = self._leading = None
        else:
            self.state[rows] = state
            self._changed()

    def _changed(self) -> None:
        self._counts = self._duty = self._leading = None

    def on_duty(self) -> np.ndarray:
        """Rows available, leading or resting."""
        if self._duty is None:
            self._duty = ON_DUTY_TABLE[self.state[: self.n]].nonzero()[0]
        return self._duty

    def leading(self) -> np.ndarray:
        if self._leading is None:
            self._leading = (self.state[: self.n] == _LEADING).nonzero()[0]
        return self._leading

    def counts(self) -> list[list[int]]:
        """Volunteers by coordinator and state: ``counts()[c][state]``; the last entry (index
        ``n_coordinators``) holds the totals over all coordinators."""
        if self._counts is None:
            n, k = self.n, len(VolunteerState)
            flat = self.coordinator[:n].astype(np.int64) * k + self.state[:n]
            by = np.bincount(flat, minlength=self.n_coordinators * k).reshape(-1, k)
            self._counts = [*by.tolist(), by.sum(axis=0).tolist()]
        return self._counts

    def totals(self) -> list[int]:
        """Volunteers by state, over all coordinators."""
        return self.counts()[-1]

    def count_in(self, coordinator: int, *states: VolunteerState) -> int:
        row = self.counts()[coordinator]
        if len(states) == 1:
            return row[states[0]]
        return sum(row[s] for s in states)

    def rows_in(self, coordinator: int, *states: VolunteerState) -> np.ndarray:
        n = self.n
        mask = state_table(*states)[self.state[:n]]
        if self.n_coordinators > 1:
            mask &= self.coordinator[:n] == coordinator
        return mask.nonzero()[0]

    def count(self, state: VolunteerState) -> int:
        return self.totals()[state]

    def pick_leaders(self, coordinator: int, k: int) -> np.ndarray:
        """The ``k`` least strained available volunteers (ties: the more experienced)."""
        if self.counts()[coordinator][_AVAILABLE] < k:
            return NO_ROWS
        n = self.n
        free = self.state[:n] == _AVAILABLE
        if self.n_coordinators > 1:
            free &= self.coordinator[:n] == coordinator
        rows = free.nonzero()[0]
        if rows.size <= 64:  # the usual few: a plain sort
            keyed = sorted(zip(self.strain[rows].tolist(), (-self.courses_led[rows]).tolist(), rows.tolist(),
                               strict=True))
            return np.array([r for _, _, r in keyed[:k]], dtype=np.int64)
        order = np.lexsort((-self.courses_led[rows], self.strain[rows]))
        return rows[order[:k]]

    def start_leading(self, rows: np.ndarray, course_id: int) -> None:
        self.set_state(rows, VolunteerState.LEADING)
        self.course[rows] = course_id

    def set_pair(self, pair: np.ndarray) -> None:
        """Two leaders of one course: each is buffered by the other's experience."""
        a, b = pair.tolist()
        vp = self.vp
        led = self.courses_led
        for me, other in ((a, b), (b, a)):
            exp = bool(led[other] >= 1)
            self.coleader_exp[me] = exp
            self.lead_strain[me] = vp.strain_per_course_week * (1.0 - vp.coleader_buffer * exp)

    def finish_leading(self, rows: np.ndarray, week: int) -> None:
        rows = rows[self.state[rows] == _LEADING]
        self.set_state(rows, VolunteerState.RESTING)
        self.courses_led[rows] += 1
        self.course[rows] = NO_WEEK
        self._rest(rows, week)

    def _rest(self, rows: np.ndarray, week: int) -> None:
        """``rows`` (now RESTING) rest for the set weeks; available again at the end of it."""
        until = week + self.vp.rest_weeks_after_course
        self.rest_until[rows] = until
        if rows.size:
            self._rest_ends.setdefault(until, []).append(rows)

    def setback_now(self, week: int, rows: np.ndarray | slice) -> np.ndarray:
        """The setback to the own recovery (QPR-15 points) of ``rows`` at the end of ``week``:
        what it was after the last burnout, less the weekly share regained every week since."""
        keep = 1.0 - self.vp.own_recovery_regain_per_week
        return self.setback[rows] * keep ** np.maximum(week - self.setback_week[rows], 0)

    def step(self, week: int, supervision_level: Sequence[float]) -> VolunteerWeek:
        """One week for every volunteer: strain, hazards, returns from a pause, the end of rests.

        ``supervision_level[c]`` is supervision received per leader relative to the standard (0-1)
        for coordinator ``c``. Returns the rows that burned out, left, and returned this week.
        """
        vp = self.vp
        n = self.n
        self.week = week
        s = self.strain[:n]
        empty = NO_ROWS
        # strain: leaders build it up (buffered by supervision and an experienced co-leader),
        # everyone else recovers a share of it
        lead = self.leading()
        if lead.size:
            if len(supervision_level) == 1:
                buffer = 1.0 - vp.supervision_buffer * supervision_level[0]
            else:
                buffer = (1.0 - vp.supervision_buffer * np.asarray(supervision_level))[self.coordinator[lead]]
            grow = self.lead_strain[lead] * buffer
            grow += s[lead]
            s *= 1.0 - vp.strain_recovery_per_week
            s[lead] = grow
            pk = self.peak_strain[:n]
            np.maximum(pk, s, out=pk)
        else:
            s *= 1.0 - vp.strain_recovery_per_week

        # burnout and exit among those on duty (their own draws of the week: :class:`_WeeklyDraws`)
        burned = left = empty
        duty = self.on_duty()
        draws = self._weekly
        year, w = divmod(week - 1, WEEKS_PER_YEAR)
        if duty.size and (year != draws.year or n > draws.rows):
            draws.cover(year, n)
        if duty.size:
            sd = s[duty]
            at = draws.hazard[w][:, duty]  # this week's burnout and exit thresholds
            b = sd > at[0]
            x = sd > at[1]
            if np.count_nonzero(b):
                burned = duty[b]
                x &= ~b
            if np.count_nonzero(x):
                left = duty[x]
        if burned.size:
            self.set_state(burned, VolunteerState.BURNED_OUT)
            self.ti_burnout[burned] = week
            self.n_burnouts[burned] += 1
            # the setback to their own recovery, regained by a weekly share (kept as of the week
            # of the last burnout, :meth:`setback_now`)
            self.setback[burned] = self.setback_now(week, burned) + vp.own_recovery_setback_qpr
            self.setback_week[burned] = week
            sb = s[burned]
            p_burn = vp.burnout_hazard_max_per_week / (1.0 + np.exp((vp.burnout_threshold - sb) / vp.burnout_steepness))
            leave, u_pause = after_burnout(draws.burn_u[w, burned], p_burn, vp.leave_after_burnout_share)
            self.leave_after[burned] = leave
            # the pause ends after 1 + Geometric(1 / mean) weeks (a weekly chance from next week)
            p_end = 1.0 / vp.pause_mean_weeks
            wait = (np.zeros(burned.size, dtype=np.int64) if p_end >= 1.0 else
                    np.floor(np.log1p(-u_pause) / np.log1p(-p_end)).astype(np.int64))
            for w, r in zip((week + 1 + wait).tolist(), burned.tolist(), strict=True):
                self._pause_ends.setdefault(w, []).append(np.array([r]))
        if left.size:
            self.set_state(left, VolunteerState.LEFT)
            self.ti_left[left] = week
        # pauses that end this week: some leave, the others rest before leading again
        quit_ = back = empty
        ends = self._pause_ends.pop(week, None)
        if ends:
            ends = np.concatenate(ends)
            ends = ends[self.state[ends] == _BURNED_OUT]
            quit_ = ends[self.leave_after[ends]]
            back = ends[~self.leave_after[ends]]
            self.set_state(quit_, VolunteerState.LEFT)
            self.ti_left[quit_] = week
            self.set_state(back, VolunteerState.RESTING)
            self.n_returns[back] += 1
            self._rest(back, week)
        # rests that end this week
        for w in [w for w in self._rest_ends if w <= week] if self._rest_ends else ():
            rested = np.concatenate(self._rest_ends.pop(w))
            rested = rested[(self.state[rested] == _RESTING) & (self.rest_until[rested] <= week)]
            self.set_state(rested, VolunteerState.AVAILABLE)
        return VolunteerWeek(burned, np.concatenate([left, quit_]) if quit_.size else left, back)

    def to_frame(self, coordinator_names: list[str]) -> pd.DataFrame:
        n = self.n
        sl = slice(0, n)

        wk = self.weeks

        return pd.DataFrame({
            "volunteer_id": np.arange(n),
            "coordinator": pd.Categorical.from_codes(self.coordinator[sl], coordinator_names),
            "state": pd.Categorical.from_codes(self.state[sl], [v.name.lower() for v in VolunteerState]),
            "former_participant": self.former_participant[sl],
            "citizen_id": wk(self.citizen_id),
            "training_quality": self.quality[sl],
            "courses_led": self.courses_led[sl],
            "strain_end": self.strain[sl],
            "strain_peak": self.peak_strain[sl],
            "n_burnouts": self.n_burnouts[sl],
            "n_returns": self.n_returns[sl],
            "own_recovery_setback_qpr": self.setback_now(self.week, sl),
            "ti_recruited": wk(self.ti_recruited),
            "ti_trained": wk(self.ti_trained),
            "ti_last_burnout": wk(self.ti_burnout),
            "ti_left": wk(self.ti_left),
        })


class Volunteer(Agent):
    """A volunteer peer: a Mesa agent whose state is row ``idx`` of the model's registry."""

    def __init__(self, model: Model, registry: VolunteerRegistry, idx: int) -> None:
        super().__init__(model)
        self.registry = registry
        self.idx = idx

    @property
    def state(self) -> VolunteerState:
        return VolunteerState(self.registry.state[self.idx])

    @property
    def strain(self) -> float:
        return float(self.registry.strain[self.idx])
