"""The peersim model: municipalities, coordinators, volunteers and citizens, one step a week.

Order of events within a week (the code in :meth:`PeersimModel.step` follows it):

1. **Referral.** Each municipality renews its eligible pool and draws this week's staff
   referrals and the self-referrals from last week's intro meetings. Referred citizens become
   agents; some decline at once, the rest join the municipality's waiting list.
2. **Coordinators work.** Each coordinator spends its weekly hours in priority order (admin;
   running courses and their supervision; due companionship workshops; a training cohort;
   forming courses, which start once formed; recruitment; intro meetings). Starting a course
   invites waiting citizens (some decline), takes two volunteers and fixes its fidelity.
3. **Sessions.** Every running course holds a session: participants may drop out, the rest
   attend with their own propensity, and attendance adds to their effect. Courses whose last
   session this was (or whose participants have all dropped out) end; their leaders rest;
   completers may later become volunteers.
4. **Volunteers.** Strain grows for leaders (buffered by this week's supervision and an
   experienced co-leader) and falls for the others; burnout, exit, return from a pause and the
   end of rest happen. A lost leader is replaced from the free volunteers, or the course stops.
5. **Citizens.** Waiting citizens may give up; every followed citizen's QPR-15 moves one week
   (counterfactual fluctuation, effect decay after the course, slower in companionship while
   workshops run); companionship periods end; attributable successes are recorded.
6. **Record.** The week's flows and stocks are written to the weekly table.

In a randomised trial (``scenario=trial``, :mod:`peersim.trial_conduct`) step 1 differs while
recruitment is open: only the referred citizens who enrol meet the programme, each randomised to
PEER (the waiting list) or service as usual (a followed control); from the week after it closes,
referral is as usual. Step 5 begins with measuring the randomised citizens who are due.

Where each step lives: referral in :mod:`peersim.municipality`, the coordinators' work in
:mod:`peersim.coordinator`, courses from start to end (steps 2-4) in
:mod:`peersim.course_lifecycle`, volunteers in :mod:`peersim.volunteer`, citizens in
:mod:`peersim.citizen` and their QPR-15 in :mod:`peersim.recovery`, the weekly table in
:mod:`peersim.reporting`; this module wires them together and keeps the order of the week.

How the code keeps the week cheap. Citizens and volunteers are Mesa agents whose state lives in
numpy columns (:mod:`peersim.citizen`, :mod:`peersim.volunteer`), and only those who meet the
programme exist. Random events whose chances do not change while they wait are drawn once and
scheduled for their week, with the same probabilities the weekly draws would have: a course's
attendance and dropouts (step 3) when it starts, a citizen's patience on the waiting list (step
5) with their traits, a volunteer's pause (step 4) when they burn out. The burnout and exit
hazards, which depend on this week's strain, are drawn every week, for those on duty. The QPR-15
scores of step 5 influence nothing else in the model, so they are not moved week by week: the
weekly pass records what they depend on and :func:`peersim.recovery.evaluate` computes every
followed week in one vectorised pass when results are asked for, following the order above
exactly (``tests/test_recovery.py`` holds it to a week-by-week loop). Municipalities and
coordinators are ordinary Mesa agents.
"""

from __future__ import annotations

from operator import add

import mesa
import numpy as np

from peersim.citizen import Citizen, CitizenRegistry
from peersim.coordinator import Coordinator
from peersim.course import Course
from peersim.course_lifecycle import CourseLifecycle
from peersim.municipality import Municipality
from peersim.params import PeersimConfig
from peersim.reporting import HOURS, Recorder
from peersim.streams import municipality_keys, poisson_inverse, substream
from peersim.trial_conduct import TrialCitizenRegistry, TrialRecruitment
from peersim.vocabulary import ACTIVITIES
from peersim.volunteer import Volunteer, VolunteerRegistry, VolunteerState

_VOLUNTEER_STOCKS = tuple(f"n_volunteers_{s.name.lower()}" for s in VolunteerState)  # VolunteerState order
_AVAILABLE, _LEADING, _RESTING = VolunteerState.AVAILABLE, VolunteerState.LEADING, VolunteerState.RESTING


class PeersimModel(mesa.Model):
    """One run of the programme in one or more municipalities, a step a week.

    It owns the parameters (``p``), the coordinators' recruitment streams, the municipalities and
    coordinators (Mesa agents), the citizens' and volunteers' registries (whose rows the citizen
    and volunteer agents view), the courses (:class:`peersim.course_lifecycle.CourseLifecycle`),
    the weeks until which each municipality's companionship workshops run, the trial's
    recruitment in a trial, and the weekly table (:class:`peersim.reporting.Recorder`).
    ``make_agents=False`` skips the citizen and volunteer agents (the registries hold everything
    the run needs; experiments run many replications this way).
    """

    def __init__(self, params: PeersimConfig, *, make_agents: bool = True) -> None:
        super().__init__(rng=int(params.seed))  # a numpy integer set in Python, too
        self._mesa_step, self.step = self.step, self._mesa_step_within_horizon
        self.p = params
        self.weeks = params.weeks
        self.week = 0
        self.make_agents = make_agents
        keys = municipality_keys([mp.name for mp in params.municipalities])
        registry = TrialCitizenRegistry if params.trial.enabled else CitizenRegistry
        self.citizens = registry(params.recovery, params.course, params.companionship, seed=params.seed,
                                 giveup_hazard=params.referral.giveup_hazard_per_week,
                                 weeks=params.weeks, municipality_keys=keys)
        n_coordinators = len({mp.coordinator_group for mp in params.municipalities})
        self.volunteers = VolunteerRegistry(params.volunteers, n_coordinators=n_coordinators, seed=params.seed)
        self.recorder = Recorder(self.weeks)
        self.tally = self.recorder.tally  # flows are tallied many times a week: no extra call

        self.municipality_list = [
            Municipality(self, i, mp, params.referral, params.seed, key, params.weeks)
            for i, (mp, key) in enumerate(zip(params.municipalities, keys, strict=True))
        ]
        self.workshop_until = np.zeros(len(self.municipality_list), dtype=np.int64)
        groups: dict[str, list[Municipality]] = {}
        for m in self.municipality_list:
            groups.setdefault(m.params.coordinator_group, []).append(m)
        self.coordinator_list = []
        for j, (name, members) in enumerate(groups.items()):
            self.coordinator_list.append(Coordinator(self, j, name, members, params.coordinator))
        # a coordinator's recruitment campaigns draw from the stream of its first municipality
        self._recruitment = [substream(params.seed, "recruitment", keys[c.municipalities[0].index])
                             for c in self.coordinator_list]
        self.course_lifecycle = CourseLifecycle(params, self.citizens, self.volunteers, self.coordinator_list,
                                                self.tally)
        self.trial: TrialRecruitment | None = None
        if isinstance(self.citizens, TrialCitizenRegistry):
            self.trial = TrialRecruitment(params, self.citizens)
        self._collect()

    @property
    def courses(self) -> list[Course]:
        """Every course started so far, in order (a course's id is its place here)."""
        return self.course_lifecycle.courses

    @property
    def running_courses(self) -> list[Course]:
        """The courses running now (not Mesa's ``running`` flag, which this model leaves alone)."""
        return self.course_lifecycle.running

    # -- what the coordinators ask of the model ----------------------------------------------
    def waiting_count(self, municipality: int) -> int:
        return self.citizens.waiting_n[municipality]

    def companionship_open(self, municipality: int, week: int) -> bool:
        return self.citizens.companionship_open(municipality, week)

    def start_course(self, coordinator: Coordinator, m: Municipality) -> bool:
        """Form a course in ``m`` now, if it can start (:meth:`CourseLifecycle.start`)."""
        return self.course_lifecycle.start(coordinator, m, self.week)

    def campaign_applicants(self, coordinator: Coordinator) -> int:
        """The applicants of a recruitment campaign that ends now (Poisson, from the coordinator's
        own stream: its n-th campaign draws the same uniform in every scenario)."""
        u = self._recruitment[coordinator.index].random()
        return poisson_inverse(u, coordinator.cp.recruits_per_campaign_mean)

    def recruit(self, coordinator: Coordinator, k: int) -> np.ndarray:
        """``k`` applicants join ``coordinator``'s volunteers, waiting for a training cohort."""
        rows = self.volunteers.add(k, coordinator.index, self.week)
        self._agents(Volunteer, self.volunteers, rows)
        self.tally("new_volunteers_recruited", k)
        return rows

    def graduate(self, coordinator: Coordinator, cohort: np.ndarray) -> None:
        """A training cohort ends: some drop out, the others are ready to co-lead."""
        vols = self.volunteers
        drop = vols.u_training[cohort] < self.p.volunteers.training_dropout_share  # each volunteer's own draw
        gone, ok = cohort[drop], cohort[~drop]
        vols.set_state(gone, VolunteerState.LEFT)
        vols.ti_left[gone] = self.week
        vols.set_state(ok, VolunteerState.AVAILABLE)
        vols.ti_trained[ok] = self.week
        vols.quality[ok] = coordinator.cp.training_quality
        self.tally("new_volunteers_trained", ok.size)
        self.tally("new_training_dropouts", gone.size)
        self.tally("new_volunteers_left", gone.size)

    # -- the week ---------------------------------------------------------------------------
    def _mesa_step_within_horizon(self) -> None:
        """``model.step()``: Mesa's step (time, events, this class's :meth:`step`), refused
        before Mesa moves its clock when the horizon has been reached."""
        if self.week >= self.weeks:
            raise RuntimeError(f"the run's horizon is {self.weeks} weeks (years={self.p.years}); "
                               "it cannot step past it")
        self._mesa_step()

    def step(self) -> None:
        """One week: the steps of the module docstring, in its order."""
        self.week += 1
        week = self.week
        self._refer(week)                           # 1
        self._join_former_participants(week)
        for c in self.coordinator_list:             # 2
            c.work()
        self.course_lifecycle.hold_sessions(week)   # 3
        self._volunteers_week(week)                 # 4
        self._citizens_week(week)                   # 5
        self._collect()                             # 6

    def _refer(self, week: int) -> None:
        """Referred citizens become agents; some decline at once, the rest wait. While a trial
        recruits, only those who enrol meet the programme."""
        trial = self.trial if self.trial is not None and self.trial.open else None
        for m in self.municipality_list:
            staff, self_ref = m.refer(week)
            if trial is not None:
                rows, staff = trial.enrol(m.index, week, staff, self_ref)
                self_ref = rows.size - staff
            elif staff + self_ref:
                rows, declined = self.citizens.refer(staff + self_ref, m.index, week,
                                                     self.p.referral.decline_at_referral)
                if declined:
                    self.tally("new_citizens_declined", declined)
            else:
                continue
            if rows.size:
                self._agents(Citizen, self.citizens, rows)
                self.tally("new_citizens_referred", rows.size)
                self.tally("new_referred_staff", staff)
                self.tally("new_referred_self", self_ref)

    def _join_former_participants(self, week: int) -> None:
        """Completers drawn at the end of their course join its coordinator's volunteers."""
        joiners = self.course_lifecycle.joiners_due(week)
        if not joiners:
            return
        for j in joiners:
            rows = self.volunteers.add(1, j.coordinator, week, citizen_ids=np.array([j.citizen]))
            self.citizens.ti_volunteer[j.citizen] = week
            self._agents(Volunteer, self.volunteers, rows)
        self.tally("new_volunteers_recruited", len(joiners))
        self.tally("new_former_participants_joined", len(joiners))

    def _volunteers_week(self, week: int) -> None:
        """Strain, burnout, exit, returns and rests; a lost leader is replaced or their course stops."""
        vols = self.volunteers
        if vols.n == 0:
            return
        out = vols.step(week, [c.supervision_level for c in self.coordinator_list])
        if out.burned.size:
            self.tally("new_volunteer_burnouts", out.burned.size)
        if out.left.size:
            self.tally("new_volunteers_left", out.left.size)
        if out.returned.size:
            self.tally("new_volunteer_returns", out.returned.size)
        if out.burned.size or out.left.size:
            lost = np.concatenate([out.burned, out.left])
            for v in lost[vols.course[lost] >= 0]:
                self.course_lifecycle.replace_leader(int(v), week)

    def _citizens_week(self, week: int) -> None:
        """Waiting citizens give up, the randomised who are due are measured, the week ends."""
        self.tally("new_citizens_gave_up", self.citizens.give_up(week))
        if self.trial is not None:
            self.trial.citizens.measure(week)
        self.citizens.end_week(week, self.workshop_until > week)

    def _agents(self, kind: type[Citizen] | type[Volunteer], registry: CitizenRegistry | VolunteerRegistry,
                rows: np.ndarray) -> None:
        """The Mesa agents viewing ``rows`` of ``registry`` (unless the run makes none)."""
        if self.make_agents:
            for r in rows.tolist():
                kind(self, registry, r)

    def _collect(self) -> None:
        """Step 6: this week's flows and the stocks at the end of the week."""
        reg, vols = self.citizens, self.volunteers
        coords, munis = self.coordinator_list, self.municipality_list
        supervision = forming = budget = 0.0
        hours = [0.0] * len(ACTIVITIES)
        for c in coords:
            supervision += c.supervision_level
            forming += len(c.forming)
            budget += c.budget
            hours = list(map(add, hours, c.hours))  # both in ACTIVITIES order
        pool = awareness = 0.0
        for m in munis:
            pool += m.pool
            awareness += m.awareness
        counts = vols.totals().copy()  # the registry keeps changing its own list
        duty = counts[_AVAILABLE] + counts[_LEADING] + counts[_RESTING]
        stocks = {
            "n_waiting": reg.waiting_total, "n_in_course": reg.in_course_n, "n_companionship": reg.comp_n,
            "n_courses_running": len(self.course_lifecycle.running), "n_courses_forming": forming,
            "n_volunteers_active": duty,
            "strain_mean": vols.strain[vols.on_duty()].sum() / duty if duty else 0.0,
            "supervision_level": supervision / len(coords), "eligible_pool": pool,
            "awareness_mean": awareness / len(munis),
        }
        if self.week:  # no hours before the first week
            hours.append(budget)
            self.recorder.record(self.week, stocks, (_VOLUNTEER_STOCKS, counts), (HOURS, hours))
        else:
            self.recorder.record(self.week, stocks, (_VOLUNTEER_STOCKS, counts))

    # -- results ----------------------------------------------------------------------------
    def run(self) -> None:
        """Step to the end of the horizon (through Mesa's scheduler: ``model.steps`` and
        ``model.time`` count the weeks)."""
        if self.weeks > self.week:
            self.run_for(self.weeks - self.week)

    def timeseries(self):
        """The weekly table (:class:`peersim.reporting.Recorder`) up to now, with the citizens'
        recovery figures (QPR-15 means of the followed starters, successes) filled in."""
        rec = self.citizens.evaluate()
        col, data, w = self.recorder.col, self.recorder.data, self.week + 1
        data[:w, col["qpr_mean_started"]] = rec.qpr_mean
        data[:w, col["qpr_cf_mean_started"]] = rec.qpr_cf_mean
        data[:w, col["n_followed_started"]] = rec.n_followed
        data[:w, col["new_successes"]] = rec.new_successes
        return self.recorder.to_frame()

    def trial_done(self) -> bool:
        """In a trial: recruitment has closed and every randomised citizen has been measured
        (what follows does not change the trial's outcome)."""
        return self.trial is not None and self.trial.done()
