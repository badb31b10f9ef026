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
"""

from __future__ import annotations

import functools

from enum import IntEnum
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from mesa import Agent

from peersim.registry import NO_WEEK, ColumnStore

from peersim.params import VolunteerParams

if TYPE_CHECKING:
    from peersim.model import PeersimModel



class VolunteerState(IntEnum):
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


class VolunteerRegistry(ColumnStore):
    _FLOAT = ("strain", "quality", "setback", "peak_strain")
    _INT = ("coordinator", "state", "courses_led", "n_burnouts", "n_returns", "course",
            "ti_recruited", "ti_trained", "ti_burnout", "ti_left", "rest_until", "citizen_id")
    _BOOL = ("leave_after", "coleader_exp", "former_participant")

    def __init__(self, vp: VolunteerParams, capacity: int = 64) -> None:
        self.vp = vp
        self.n = 0
        self._alloc(capacity)

    def _alloc(self, capacity: int) -> None:
        self._grow(capacity)

    def add(self, k: int, coordinator: int, week: int, *, citizen_ids: np.ndarray | None = None) -> np.ndarray:
        if self.n + k > self.capacity:
            self._alloc(max(2 * self.capacity, self.n + k))
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
        return rows

    def rows_in(self, coordinator: int, *states: VolunteerState) -> np.ndarray:
        n = self.n
        mask = state_table(*states)[self.state[:n]] & (self.coordinator[:n] == coordinator)
        return np.flatnonzero(mask)

    def count(self, state: VolunteerState) -> int:
        return int(np.count_nonzero(self.state[: self.n] == state))

    def pick_leaders(self, coordinator: int, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
        """The ``k`` least strained available volunteers (ties: the more experienced)."""
        rows = self.rows_in(coordinator, VolunteerState.AVAILABLE)
        if exclude is not None and exclude.size:
            rows = rows[~np.isin(rows, exclude)]
        if rows.size < k:
            return rows[:0]
        order = np.lexsort((-self.courses_led[rows], self.strain[rows]))
        return rows[order[:k]]

    def start_leading(self, rows: np.ndarray, course_id: int) -> None:
        self.state[rows] = VolunteerState.LEADING
        self.course[rows] = course_id

    def set_pair(self, pair: np.ndarray) -> None:
        a, b = pair
        self.coleader_exp[a] = self.courses_led[b] >= 1
        self.coleader_exp[b] = self.courses_led[a] >= 1

    def finish_leading(self, rows: np.ndarray, week: int) -> None:
        rows = rows[self.state[rows] == VolunteerState.LEADING]
        self.state[rows] = VolunteerState.RESTING
        self.rest_until[rows] = week + self.vp.rest_weeks_after_course
        self.courses_led[rows] += 1
        self.course[rows] = NO_WEEK

    def step(self, week: int, supervision_level: np.ndarray, rng: np.random.Generator,
             ) -> dict[str, np.ndarray]:
        """One week for every volunteer who is not gone: strain, hazards, returns, rest.

        ``supervision_level[c]`` is supervision received per leader relative to the standard (0-1)
        for coordinator ``c``. Returns the rows that burned out, left, and returned this week.
        """
        vp = self.vp
        n = self.n
        st = self.state[:n]
        s = self.strain[:n]
        counts = np.bincount(st, minlength=len(VolunteerState))
        empty = st[:0].astype(np.int64)
        if counts[VolunteerState.LEADING]:
            lead = st == VolunteerState.LEADING
            buf_s = 1.0 - vp.supervision_buffer * supervision_level[self.coordinator[:n][lead]]
            buf_c = 1.0 - vp.coleader_buffer * self.coleader_exp[:n][lead]
            np.multiply(s, 1.0 - vp.strain_recovery_per_week, out=s, where=~lead)
            s[lead] += vp.strain_per_course_week * buf_s * buf_c
            pk = self.peak_strain[:n]
            np.maximum(pk, s, out=pk)
        else:
            s *= 1.0 - vp.strain_recovery_per_week
        if counts[VolunteerState.BURNED_OUT] or self.setback[:n].any():
            self.setback[:n] *= 1.0 - vp.own_recovery_regain_per_week

        burned = left = back = quit_ = empty
        paused = (st == VolunteerState.BURNED_OUT).nonzero()[0] if counts[VolunteerState.BURNED_OUT] else empty
        if counts[list(ON_DUTY)].sum():
            duty = ON_DUTY_TABLE[st].nonzero()[0]
            sd = s[duty]
            u = rng.random((2, duty.size))
            p_burn = vp.burnout_hazard_max_per_week / (1.0 + np.exp((vp.burnout_threshold - sd) / vp.burnout_steepness))
            p_exit = 1.0 - np.exp((vp.exit_rate_per_year + vp.exit_rate_strain_per_year * sd) / -52.0)
            b = u[0] < p_burn
            burned = duty[b]
            left = duty[~b & (u[1] < p_exit)]
        if burned.size:
            self.state[burned] = VolunteerState.BURNED_OUT
            self.ti_burnout[burned] = week
            self.n_burnouts[burned] += 1
            self.setback[burned] += vp.own_recovery_setback_qpr
            self.leave_after[burned] = rng.random(burned.size) < vp.leave_after_burnout_share
        if left.size:
            self.state[left] = VolunteerState.LEFT
            self.ti_left[left] = week
        # pauses end (only for those paused before this week)
        if paused.size:
            ends = paused[rng.random(paused.size) < 1.0 / vp.pause_mean_weeks]
            quit_ = ends[self.leave_after[ends]]
            back = ends[~self.leave_after[ends]]
            self.state[quit_] = VolunteerState.LEFT
            self.ti_left[quit_] = week
            self.state[back] = VolunteerState.RESTING
            self.rest_until[back] = week + vp.rest_weeks_after_course
            self.n_returns[back] += 1
        if counts[VolunteerState.RESTING] or back.size:
            rested = ((st == VolunteerState.RESTING) & (self.rest_until[:n] <= week)).nonzero()[0]
            self.state[rested] = VolunteerState.AVAILABLE
        return {"burned": burned, "left": np.concatenate([left, quit_]), "returned": back}

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
            "own_recovery_setback_qpr": self.setback[sl],
            "ti_recruited": wk(self.ti_recruited),
            "ti_trained": wk(self.ti_trained),
            "ti_last_burnout": wk(self.ti_burnout),
            "ti_left": wk(self.ti_left),
        })


class Volunteer(Agent):
    """A volunteer peer: a Mesa agent whose state is one row of the model's registry."""

    def __init__(self, model: PeersimModel, idx: int) -> None:
        super().__init__(model)
        self.idx = idx

    @property
    def state(self) -> VolunteerState:
        return VolunteerState(self.model.volunteers.state[self.idx])

    @property
    def strain(self) -> float:
        return float(self.model.volunteers.strain[self.idx])
