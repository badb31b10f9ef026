"""Coordinators: a weekly hours budget, spent in a fixed order of priorities.

Course capacity and fidelity are not typed in; they emerge from this budget. Each week a
coordinator spends, while hours last:

1. admin (a fixed share: reporting, fidelity measurement, steering group),
2. the running courses (hours per course-week) and supervision of their leaders,
3. companionship workshops that are due,
4. a training cohort in progress (a week of training counts only if its hours are given),
5. forming courses (hours accumulate per course; it starts after at least ``formation_weeks``;
   a new one is begun only while the number of courses the budget can carry is not reached,
   enough citizens wait for it and two volunteers are free for it; a municipality with a long
   waiting list can have several courses in formation at once),
6. volunteer recruitment when the pipeline (paused volunteers included) is below what that
   capacity needs; a campaign takes on no more applicants than the shortfall,
7. intro meetings that are due (paused while the waiting list is long),

and the rest is idle. A coordinator can serve several municipalities (its ``coordinator_group``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from mesa import Agent

from peersim.municipality import Municipality
from peersim.params import CoordinatorParams, PeersimConfig
from peersim.vocabulary import ACTIVITIES, WEEKS_PER_YEAR
from peersim.volunteer import VolunteerRegistry, VolunteerState

_ACT = {a: i for i, a in enumerate(ACTIVITIES)}
_ADMIN, _IDLE = _ACT["admin"], _ACT["idle"]


class Programme(Protocol):
    """What a coordinator reads from and asks of the model (:class:`peersim.model.PeersimModel`)."""

    p: PeersimConfig
    week: int
    volunteers: VolunteerRegistry
    workshop_until: np.ndarray               # by municipality: its workshops run until this week
    tally: Callable[[str, float], None]      # add to one of this week's flows

    def waiting_count(self, municipality: int) -> int: ...
    def companionship_open(self, municipality: int, week: int) -> bool: ...
    def start_course(self, coordinator: Coordinator, m: Municipality) -> bool: ...
    def campaign_applicants(self, coordinator: Coordinator) -> int: ...
    def recruit(self, coordinator: Coordinator, k: int) -> np.ndarray: ...
    def graduate(self, coordinator: Coordinator, cohort: np.ndarray) -> None: ...


@dataclass(slots=True)
class Forming:
    """A course being formed: in which municipality, the hours put in so far, the week begun."""

    municipality: int
    hours: float
    begun: int


class Coordinator(Agent):
    """A coordinator: a Mesa agent that owns a weekly budget of hours and spends it, in the
    order of the module docstring, on the municipalities it serves (its ``coordinator_group``).

    It owns this week's hours by activity, the supervision level its leaders get, the courses
    it is forming, its recruitment campaign, its training cohort, and when the next intro
    meeting and workshop are due in each of its municipalities; it keeps the count of its
    running courses with the model's course lifecycle.
    """

    model: Programme

    def __init__(self, model: Programme, index: int, name: str,
                 municipalities: list[Municipality], params: CoordinatorParams) -> None:
        super().__init__(model)
        self.index = index
        self.name = name
        self.municipalities = municipalities
        self.cp = params
        self.budget = params.fte * params.productive_hours_per_fte_year / WEEKS_PER_YEAR
        vp = model.p.volunteers
        planned = min(1.0, params.supervision_hours_per_leader_week / vp.supervision_standard_hours_per_leader_week)
        self.supervision_level = planned          # this week's level (0-1), read by volunteers
        self.supervision_recent = planned         # smoothed, read by fidelity
        self.forming: list[Forming] = []          # courses being formed, oldest first
        self.campaign_hours: float | None = None
        self.cohort = np.empty(0, dtype=np.int64)
        self.cohort_weeks = 0
        n = len(municipalities)
        every = WEEKS_PER_YEAR / params.intro_meetings_per_year if params.intro_meetings_per_year > 0 else math.inf
        self.intro_every = every
        # first meetings spread over the first interval; never, if no meetings are planned
        self.next_intro = [1.0 + i * min(every, float(WEEKS_PER_YEAR)) / max(n, 1) if every < math.inf else math.inf
                           for i in range(n)]
        self.next_workshop = [0.0] * n          # by municipality: the week (fractional) its next workshop is due
        self.intro_hours = [0.0] * n
        self.cohort_hours = 0.0
        self.hours = [0.0] * len(ACTIVITIES)      # this week's hours by activity (ACTIVITIES order)
        self.n_running = 0                        # its courses running now (kept by the course lifecycle)
        self.capacity = self._capacity()
        # constants of the weekly work
        steering = params.steering_meetings_per_year
        self._steer_every = WEEKS_PER_YEAR // steering if steering else 0
        self._leaders_per_course = model.p.course.leaders_per_course
        self._supervision_standard = vp.supervision_standard_hours_per_leader_week
        self._needed = self.volunteers_needed()
        self._next_workshop_any = 0            # no municipality's workshop is due before this week
        self._next_intro_any = min(self.next_intro, default=math.inf)

    # -- capacity ---------------------------------------------------------------------------
    def _capacity(self) -> int:
        """How many courses the budget can carry at once (at least one)."""
        cp, model = self.cp, self.model
        workshops = model.p.companionship.workshops_per_year
        yearly = cp.intro_meetings_per_year * cp.hours_per_intro_meeting + workshops * cp.hours_per_workshop
        other = len(self.municipalities) * yearly / WEEKS_PER_YEAR
        per_course = cp.hours_per_course_week + model.p.course.leaders_per_course * cp.supervision_hours_per_leader_week
        free = self.budget * (1.0 - cp.admin_share) - other
        if per_course <= 0:
            return 10**6
        return max(1, int(free // per_course))

    def volunteers_needed(self) -> int:
        leaders = self.model.p.course.leaders_per_course
        return math.ceil(leaders * self.capacity * (1.0 + self.cp.volunteer_reserve_share))

    # -- the week ---------------------------------------------------------------------------
    def _spend(self, activity: str, hours: float) -> float:
        take = min(hours, self.remaining)
        if take > 0:
            self.remaining -= take
            self.hours[_ACT[activity]] += take
        return take

    def work(self) -> None:
        model = self.model
        week = model.week
        cp = self.cp
        hours = self.hours = [0.0] * len(ACTIVITIES)
        admin = min(self.budget, cp.admin_share * self.budget)
        hours[_ADMIN] = admin
        self.remaining = self.budget - admin
        if self._steer_every and week % self._steer_every == 0:
            model.tally("new_steering_meetings", len(self.municipalities))

        n_running = self.n_running
        if n_running:
            self._spend("course_running", cp.hours_per_course_week * n_running)
            leaders = self._leaders_per_course * n_running
            given = self._spend("supervision", cp.supervision_hours_per_leader_week * leaders)
            self.supervision_level = min(1.0, given / leaders / self._supervision_standard)
            self.supervision_recent += 0.1 * (self.supervision_level - self.supervision_recent)

        if week >= self._next_workshop_any:
            self._workshops(week)
        if self.cohort.size or model.volunteers.count_in(self.index, VolunteerState.RECRUITED):
            self._training(week)
        self._form_courses(week, n_running)
        self._recruit(week)
        if week >= self._next_intro_any:
            self._intro_meetings(week)
        hours[_IDLE] += self.remaining
        self.remaining = 0.0

    def _workshops(self, week: int) -> None:
        model, cp = self.model, self.cp
        every = WEEKS_PER_YEAR / model.p.companionship.workshops_per_year   # 12 a year: every 4 1/3 weeks
        for i, m in enumerate(self.municipalities):
            due = self.next_workshop[i]
            if week < due or not model.companionship_open(m.index, week):
                continue
            if self.remaining >= cp.hours_per_workshop:
                self._spend("companionship", cp.hours_per_workshop)
                # on schedule (held in the week it fell due): the next one an interval after the due date,
                # so 12 a year stay 12 a year; late (or the first): an interval after this week
                due = (due if due > week - 1 else week) + every
                due = round(due) if abs(due - round(due)) < 1e-9 else due   # 1 + 12 x 52/12 is week 53, not 53.0000001
                model.workshop_until[m.index] = math.ceil(due)
                self.next_workshop[i] = due
                model.tally("new_workshops", 1)
        self._next_workshop_any = min(self.next_workshop)

    def _training(self, week: int) -> None:
        """Train the current cohort: it needs ``training_weeks`` weeks and that many weeks' worth
        of hours; a week with fewer hours only moves it on by the hours given."""
        model, cp = self.model, self.cp
        vols = model.volunteers
        if self.cohort.size == 0:
            if vols.count_in(self.index, VolunteerState.RECRUITED) == 0:
                return
            recruits = vols.rows_in(self.index, VolunteerState.RECRUITED)
            self.cohort = recruits
            self.cohort_weeks = 0
            self.cohort_hours = 0.0
            vols.set_state(recruits, VolunteerState.IN_TRAINING)
            model.tally("new_trainees", int(recruits.size))
        need = cp.training_weeks * cp.training_hours_per_week
        given = self._spend("training", min(cp.training_hours_per_week, need - self.cohort_hours))
        if given <= 0:
            return
        self.cohort_hours += given
        self.cohort_weeks += 1
        if self.cohort_weeks >= cp.training_weeks and self.cohort_hours >= need - 1e-9:
            model.graduate(self, self.cohort)
            self.cohort = self.cohort[:0]

    def _form_courses(self, week: int, n_running: int) -> None:
        """Begin forming courses while the budget's capacity, the waiting lists and the free
        volunteers allow (the longest waiting list first; a municipality with many waiting can
        have several in formation), then put hours into each, oldest first, and start those
        that are formed."""
        model, cp = self.model, self.cp
        vols = model.volunteers
        course = model.p.course
        leaders = course.leaders_per_course
        need_hours = cp.hours_per_course_formation
        forming = self.forming
        order = self.municipalities
        if len(order) > 1:
            order = sorted(order, key=lambda m: -model.waiting_count(m.index))
        free = -1
        for m in order:
            i = m.index
            here = sum(1 for f in forming if f.municipality == i) if forming else 0
            while n_running + len(forming) < self.capacity:
                # another course here only if, after those already forming here have taken a full
                # group each, enough citizens are left to start it; and two leaders of its own
                if model.waiting_count(i) < course.max_participants * here + course.min_participants_to_start:
                    break
                if free < 0:
                    free = vols.count_in(self.index, VolunteerState.AVAILABLE)
                if free < leaders * (len(forming) + 1):
                    break
                forming.append(Forming(i, 0.0, week))
                here += 1
        if not forming:
            return
        by_index = {m.index: m for m in self.municipalities} if len(self.municipalities) > 1 else None
        for f in list(forming):
            if f.hours < need_hours:
                f.hours += self._spend("course_formation", need_hours - f.hours)
            ready = week - f.begun >= course.formation_weeks
            m = by_index[f.municipality] if by_index else self.municipalities[0]
            if ready and f.hours >= need_hours - 1e-9 and model.start_course(self, m):
                forming.remove(f)
                n_running += 1

    def _recruit(self, week: int) -> None:
        model, cp = self.model, self.cp
        vols = model.volunteers
        # paused volunteers count: the coordinator keeps in touch and expects most of them back
        pipeline = vols.count_in(
            self.index, VolunteerState.RECRUITED, VolunteerState.IN_TRAINING,
            VolunteerState.AVAILABLE, VolunteerState.LEADING, VolunteerState.RESTING,
            VolunteerState.BURNED_OUT,
        )
        shortfall = self._needed - pipeline
        if self.campaign_hours is None:
            if shortfall <= 0:
                return
            self.campaign_hours = 0.0
        self.campaign_hours += self._spend("recruitment", cp.hours_per_recruitment_campaign - self.campaign_hours)
        if self.campaign_hours >= cp.hours_per_recruitment_campaign - 1e-9:
            self.campaign_hours = None
            applicants = model.campaign_applicants(self)
            # take on no more than the shortfall (allowing for training dropout); if every trainee
            # drops out (training_dropout_share=1) no number covers it: take every applicant
            keep = 1.0 - model.p.volunteers.training_dropout_share
            room = math.ceil(max(shortfall, 0) / keep) if keep > 0 else applicants
            model.recruit(self, min(applicants, room))

    def _intro_meetings(self, week: int) -> None:
        """Prepare and hold the intro meetings that are due (hours accumulate across weeks)."""
        model, cp = self.model, self.cp
        cap = model.p.referral.waiting_list_target_courses * model.p.course.max_participants
        for i, m in enumerate(self.municipalities):
            if week < self.next_intro[i]:
                continue
            if self.intro_hours[i] == 0.0 and model.waiting_count(m.index) > cap:
                self.next_intro[i] = week + 4  # enough citizens wait; look again in a month
                continue
            self.intro_hours[i] += self._spend("intro_meetings", cp.hours_per_intro_meeting - self.intro_hours[i])
            if self.intro_hours[i] >= cp.hours_per_intro_meeting - 1e-9:
                self.intro_hours[i] = 0.0
                m.hold_intro_meeting()
                self.next_intro[i] += self.intro_every
                if self.next_intro[i] <= week:
                    self.next_intro[i] = week + self.intro_every
                model.tally("new_intro_meetings", 1)
        self._next_intro_any = min(self.next_intro)
