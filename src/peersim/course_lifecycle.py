"""The life of a course: its start, its weekly sessions, its end, and a lost leader's replacement.

A coordinator decides when to form a course (:mod:`peersim.coordinator`); :meth:`CourseLifecycle.start`
then invites the municipality's waiting citizens (some decline), takes the two least strained free
volunteers as leaders and fixes the course's fidelity from its drivers
(:func:`peersim.course.course_fidelity`). Each week every running course holds a session (step 3
of the week, :meth:`CourseLifecycle.hold_sessions`): who attends which session and who drops out
when were drawn at the start, so the session only plays them out. A course ends after its last
session, or once every participant has dropped out; its leaders rest, and some of those who
completed it will volunteer later. A leader lost to burnout or exit (step 4) is replaced from the
free volunteers, or the course stops there (:meth:`CourseLifecycle.replace_leader`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from peersim.citizen import CitizenRegistry, CitizenState
from peersim.coordinator import Coordinator
from peersim.course import Course, course_fidelity
from peersim.municipality import Municipality
from peersim.params import PeersimConfig
from peersim.volunteer import VolunteerRegistry


class FutureVolunteer(NamedTuple):
    """A citizen who completed a course and will join its coordinator's volunteers."""

    citizen: int
    coordinator: int


class CourseLifecycle:
    """Every course of a run, from its start to its end.

    It owns the list of every course started (``courses``, in order: a course's id is its place
    in it), the courses running now (``running``), and the completers who will volunteer later, by
    the week they join (:meth:`joiners_due`). It changes the citizens' and volunteers' registries
    as courses start and end, keeps each coordinator's count of running courses, and tallies the
    week's course flows.
    """

    def __init__(self, params: PeersimConfig, citizens: CitizenRegistry, volunteers: VolunteerRegistry,
                 coordinators: list[Coordinator], tally: Callable[[str, float], None]) -> None:
        self.p = params
        self.citizens = citizens
        self.volunteers = volunteers
        self.coordinators = coordinators
        self.tally = tally
        self.courses: list[Course] = []
        self.running: list[Course] = []
        self._joiners: dict[int, list[FutureVolunteer]] = defaultdict(list)

    def start(self, coordinator: Coordinator, m: Municipality, week: int) -> bool:
        """Form a course now if two volunteers are free and enough invited citizens accept."""
        p = self.p
        vols, reg = self.volunteers, self.citizens
        if reg.waiting_n[m.index] < p.course.min_participants_to_start:
            return False
        leaders = vols.pick_leaders(coordinator.index, p.course.leaders_per_course)
        if leaders.size < p.course.leaders_per_course:
            return False
        waiting = reg.waiting(m.index)
        accept = reg.invitation_draws(waiting) >= p.course.decline_at_invitation  # each citizen's own draws
        invited = waiting[: int(accept.cumsum().searchsorted(p.course.max_participants)) + 1]
        reg.invitations[invited] += 1
        acc_mask = accept[: invited.size]
        joined, declined = invited[acc_mask], invited[~acc_mask]
        if declined.size:
            reg.leave(declined, CitizenState.DECLINED, week)
            self.tally("new_citizens_declined", declined.size)
        if joined.size < p.course.min_participants_to_start:
            return False
        course_id = len(self.courses)
        quality = vols.quality[leaders].tolist()
        fidelity = course_fidelity(
            p.fidelity,
            training_quality=sum(quality) / len(quality),
            supervision_level=coordinator.supervision_recent,
            role_support=p.coordinator.role_support,
            leader_courses_led=vols.courses_led[leaders].tolist(),
            rng=m.own_rng,  # the municipality's n-th course draws the same noise in every scenario
        )
        attendance, empty_after = reg.start_course(joined, course_id, fidelity, week)
        course = Course(course_id, m.index, coordinator.index, week, p.course.sessions, fidelity,
                        leaders, joined, history=leaders.tolist(),
                        attendance=attendance, empty_after=empty_after)
        reg.course_started(m.index, declined, week, week + p.course.sessions - 1)
        vols.start_leading(leaders, course_id)
        vols.set_pair(leaders)
        self.courses.append(course)
        self.running.append(course)
        coordinator.n_running += 1
        self.tally("new_courses_started", 1)
        self.tally("new_citizens_started", joined.size)
        return True

    def hold_sessions(self, week: int) -> None:
        """This week's session of every running course (attendance and dropout were drawn when
        the course started): dropouts leave, the others attend or not, finished courses end."""
        if not self.running:
            return
        dropped = self.citizens.drop_out(week)
        if dropped.size:
            self.tally("new_citizens_dropped_out", dropped.size)
        self.tally("new_course_sessions", len(self.running))
        attended = 0
        for course in list(self.running):
            attended += course.attendance[course.sessions_held]
            course.sessions_held += 1
            if course.sessions_held >= min(course.sessions_planned, course.empty_after):
                self.end(course, week, cancelled=False)
        self.tally("new_attendances", attended)

    def end(self, course: Course, week: int, *, cancelled: bool) -> None:
        """``course`` ends this week, after its last session or (``cancelled``) stopped without
        a leader; its participants leave it, its leaders rest, and some completers are drawn to
        volunteer later."""
        if cancelled:
            self.citizens.stop_course(course.participants, week)
        completed = self.citizens.end_course(course.participants, week)
        self.volunteers.finish_leading(course.leaders, week)
        course.end_week = week
        course.cancelled = cancelled
        self.running.remove(course)
        self.coordinators[course.coordinator].n_running -= 1
        self.tally("new_courses_ended", 1)
        self.tally("new_citizens_completed", completed)
        if cancelled:
            self.tally("new_courses_cancelled", 1)
        # completers who will later volunteer
        vp = self.p.volunteers
        done = course.participants[self.citizens.completed[course.participants]]
        if done.size and vp.former_participant_volunteer_share > 0:
            joiners = done[self.citizens.u_volunteer[done] < vp.former_participant_volunteer_share]
            for r in joiners:
                self._joiners[week + vp.former_participant_delay_weeks].append(
                    FutureVolunteer(int(r), course.coordinator))

    def replace_leader(self, v: int, week: int) -> None:
        """Volunteer ``v`` can no longer lead their course: the least strained free volunteer
        takes over, or, with none free, the course stops this week."""
        vols = self.volunteers
        course = self.courses[int(vols.course[v])]
        vols.course[v] = -1
        if not course.running:
            return
        partner = course.leaders[course.leaders != v]
        new = vols.pick_leaders(course.coordinator, 1)
        if new.size:
            course.leaders = np.concatenate([partner, new])
            course.leader_changes += 1
            course.history.append(int(new[0]))
            vols.start_leading(new, course.course_id)
            vols.set_pair(course.leaders)
            self.tally("new_leader_replacements", 1)
        else:
            course.leaders = partner
            self.end(course, week, cancelled=True)

    def joiners_due(self, week: int) -> Sequence[FutureVolunteer]:
        """The completers who join the volunteers this week (each is handed out once)."""
        return self._joiners.pop(week, ())
