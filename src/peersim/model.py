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

In a randomised trial (``scenario=trial``, :class:`TrialRecruitment`) step 1 differs while
recruitment is open: a site enrols from the end of the run-in (later for sites that join later;
before that its referrals go to other offers); a share of the referred enrol and are randomised
1:1 (:class:`peersim.trial.BlockRandomiser`), the others do not meet the programme (no agents);
recruitment closes when ``trial.participants`` are randomised, and from the next week referral
is as usual. Step 5 begins with measuring the
randomised citizens who are due (:meth:`CitizenRegistry.measure_trial`).

How the code keeps the week cheap. Citizens and volunteers are Mesa agents whose state lives in
numpy columns (:mod:`peersim.citizen`, :mod:`peersim.volunteer`), and only those who meet the
programme exist. Random events whose chances do not change while they wait are drawn once and
scheduled for their week, with the same probabilities the weekly draws would have: a course's
attendance and dropouts (step 3) when it starts, a citizen's patience on the waiting list (step
5) with their traits, a volunteer's pause (step 4) when they burn out. The burnout and exit
hazards, which depend on this week's strain, are drawn every week, for those on duty. The QPR-15
scores of step 5 influence nothing else in the model, so they are not moved week by week: the
weekly pass records what they depend on and :meth:`CitizenRegistry.evaluate` computes every
followed week in one vectorised pass when results are asked for, following the order above
exactly (``tests/test_recovery.py`` holds it to a week-by-week loop). Municipalities and
coordinators are ordinary Mesa agents.
"""

from __future__ import annotations

import zlib
from collections import defaultdict

import mesa
import numpy as np

from peersim.citizen import NOT_RANDOMISED, Citizen, CitizenRegistry, CitizenState
from peersim.coordinator import Coordinator
from peersim.course import Course, course_fidelity
from peersim.municipality import Municipality
from peersim.params import PeersimConfig
from peersim.registry import NO_WEEK
from peersim.reporting import Recorder
from peersim.streams import make_streams
from peersim.trial import BlockRandomiser
from peersim.vocabulary import ACTIVITIES
from peersim.volunteer import ON_DUTY, ON_DUTY_TABLE, Volunteer, VolunteerRegistry, VolunteerState


class TrialRecruitment:
    """The trial's recruitment: which sites enrol, how many are randomised, when it closes.

    It draws from its own ``trial`` stream (derived from the seed like the named streams of
    :mod:`peersim.streams`), so the trial's enrolment and allocation do not shift any other
    mechanism's random numbers.
    """

    def __init__(self, model: PeersimModel) -> None:
        tp = model.p.trial
        self.tp = tp
        self.rng = np.random.default_rng(
            np.random.SeedSequence(entropy=model.p.seed, spawn_key=(zlib.crc32(b"trial"),)))
        munis = model.p.municipalities
        self.randomiser = BlockRandomiser(tp.block_sizes, len(munis) if tp.stratify_by_site else 1, self.rng)
        self.stratify = tp.stratify_by_site
        # the week a site starts enrolling: after the run-in, plus its own delay
        self.opens = [tp.run_in_weeks + 1 + tp.site_opening_week.get(m.name, 0) for m in munis]
        self.measure_delay = model.p.course.formation_weeks + model.p.course.sessions - 1
        self.randomised = 0
        self.referred = 0        # referred while the site was enrolling
        self.not_enrolled = 0    # of those, not enrolled (not eligible, declined consent, or over the target)
        self.closed_week: int | None = None

    @property
    def open(self) -> bool:
        return self.closed_week is None

    def counts(self) -> dict[str, int | None]:
        """The recruitment figures of the run (for the trial_* keys of the summary)."""
        return {"randomised": self.randomised, "referred": self.referred,
                "not_enrolled": self.not_enrolled, "closed_week": self.closed_week}

    def enrol(self, model: PeersimModel, m: Municipality, week: int, staff: int, self_ref: int) -> None:
        """Enrol and randomise a share of this week's referrals of ``m`` (up to the target)."""
        k = staff + self_ref
        if week < self.opens[m.index] or k == 0:
            return
        self.referred += k
        share = self.tp.enrolment_share
        n_staff, n_self = int(self.rng.binomial(staff, share)), int(self.rng.binomial(self_ref, share))
        n = min(n_staff + n_self, self.tp.participants - self.randomised)
        n_staff = min(n_staff, n)
        self.not_enrolled += k - n
        if n == 0:
            return
        reg = model.citizens
        rows = reg.add(n, m.index, week)
        if model.make_agents:
            for r in rows:
                Citizen(model, int(r))
        arms = self.randomiser.allocate(m.index if self.stratify else 0, n)
        reg.randomise(rows, arms, week, self.measure_delay)
        self.randomised += n
        model.tally("new_citizens_referred", n)
        model.tally("new_referred_staff", n_staff)
        model.tally("new_referred_self", n - n_staff)
        if self.randomised >= self.tp.participants:
            self.closed_week = week


class PeersimModel(mesa.Model):
    def __init__(self, params: PeersimConfig, *, make_agents: bool = True) -> None:
        super().__init__(rng=params.seed)
        self._mesa_step, self.step = self.step, self._mesa_step_within_horizon
        self.p = params
        self.weeks = params.weeks
        self.week = 0
        self.make_agents = make_agents
        self.streams = make_streams(params.seed)
        self.citizens = CitizenRegistry(params.recovery, params.course, params.companionship,
                                        self.streams["traits"], seed=params.seed,
                                        giveup_hazard=params.referral.giveup_hazard_per_week,
                                        weeks=params.weeks, n_municipalities=len(params.municipalities))
        n_coordinators = len({mp.coordinator_group for mp in params.municipalities})
        self.volunteers = VolunteerRegistry(params.volunteers, n_coordinators=n_coordinators)
        self.courses: list[Course] = []
        self.running: list[Course] = []
        self.recorder = Recorder(self.weeks)
        self.tally = self.recorder.tally  # flows are tallied many times a week: no extra call
        self.pending_joiners: dict[int, list[tuple[int, int]]] = defaultdict(list)
        col = self.recorder.col
        self._stock_cols = np.array(
            [col[c] for c in ("n_waiting", "n_in_course", "n_companionship", "n_courses_running",
                              "n_courses_forming", "n_volunteers_active", "strain_mean", "supervision_level",
                              "eligible_pool", "awareness_mean")]
            + [col[f"n_volunteers_{s.name.lower()}"] for s in VolunteerState]
            + [col[f"hours_{a}"] for a in ACTIVITIES] + [col["hours_budget"]])

        self.municipality_list = [
            Municipality(self, i, mp, params.referral) for i, mp in enumerate(params.municipalities)
        ]
        self.workshop_until = np.zeros(len(self.municipality_list), dtype=np.int64)
        groups: dict[str, list[Municipality]] = {}
        for m in self.municipality_list:
            groups.setdefault(m.params.coordinator_group, []).append(m)
        self.coordinator_list = []
        for j, (name, members) in enumerate(groups.items()):
            self.coordinator_list.append(Coordinator(self, j, name, members, params.coordinator))
        self.trial: TrialRecruitment | None = None
        if params.trial.enabled:
            self.trial = TrialRecruitment(self)
            self.citizens.trial = True
        self._collect()

    # -- queries used by the agents ---------------------------------------------------------
    def waiting_count(self, municipality: int) -> int:
        return self.citizens.waiting_n[municipality]

    def companionship_open(self, municipality: int, week: int) -> bool:
        return self.citizens.companionship_open(municipality, week)

    # -- the week ---------------------------------------------------------------------------
    def _mesa_step_within_horizon(self) -> None:
        """``model.step()``: Mesa's step (time, events, this class's :meth:`step`), refused
        before Mesa moves its clock when the horizon has been reached."""
        if self.week >= self.weeks:
            raise RuntimeError(f"the run's horizon is {self.weeks} weeks (years={self.p.years}); "
                               "it cannot step past it")
        self._mesa_step()

    def step(self) -> None:
        self.week += 1
        week = self.week
        s = self.streams
        # 1. referral
        if self.trial is not None and self.trial.open:
            self._trial_referral(week)
        else:
            self._referral(week)
        self._join_former_participants(week)
        # 2. coordinators
        for c in self.coordinator_list:
            c.work()
        # 3. sessions
        self._hold_sessions(week)
        # 4. volunteers
        self._volunteers_week(week)
        # 5. citizens
        self.tally("new_citizens_gave_up", self.citizens.give_up(week))
        if self.trial is not None:
            self.citizens.measure_trial(week)
        self.citizens.end_week(week, self.workshop_until > week)
        # 6. record
        self._collect()

    def _referral(self, week: int) -> None:
        """Referred citizens become agents; some decline at once, the rest wait."""
        rng = self.streams["referral"]
        for m in self.municipality_list:
            staff, self_ref = m.refer(week, rng)
            k = staff + self_ref
            if k:
                first = self.citizens.n
                _, declined = self.citizens.refer(k, m.index, week, self.p.referral.decline_at_referral)
                if self.make_agents:
                    for r in range(first, first + k):
                        Citizen(self, r)
                if declined:
                    self.tally("new_citizens_declined", declined)
                self.tally("new_citizens_referred", k)
                self.tally("new_referred_staff", staff)
                self.tally("new_referred_self", self_ref)

    def _trial_referral(self, week: int) -> None:
        """While the trial recruits, only the referred citizens who enrol meet the programme."""
        trial = self.trial
        for m in self.municipality_list:
            staff, self_ref = m.refer(week, self.streams["referral"])
            if trial.open:
                trial.enrol(self, m, week, staff, self_ref)
            elif week >= trial.opens[m.index]:  # closed earlier this week: not enrolled
                trial.referred += staff + self_ref
                trial.not_enrolled += staff + self_ref

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
        if self.trial is None or self.trial.open:
            return False
        reg = self.citizens
        pending = (reg.arm[: reg.n] != NOT_RANDOMISED) & (reg.ti_measured[: reg.n] == NO_WEEK)
        return not pending.any()

    # -- courses ----------------------------------------------------------------------------
    def start_course(self, coordinator: Coordinator, m: Municipality) -> bool:
        """Form a course now if two volunteers are free and enough invited citizens accept."""
        p = self.p
        week = self.week
        vols, reg = self.volunteers, self.citizens
        if reg.waiting_n[m.index] < p.course.min_participants_to_start:
            return False
        leaders = vols.pick_leaders(coordinator.index, p.course.leaders_per_course)
        if leaders.size < p.course.leaders_per_course:
            return False
        waiting = reg.waiting(m.index)
        accept = self.streams["waiting"].random(waiting.size) >= p.course.decline_at_invitation
        invited = waiting[: int(accept.cumsum().searchsorted(p.course.max_participants)) + 1]
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
            rng=self.streams["fidelity"],
        )
        attendance, empty_after = reg.start_course(joined, course_id, fidelity, week, self.streams["companionship"],
                                                   self.streams["attendance"])
        course = Course(course_id, m.index, coordinator.index, week, p.course.sessions, fidelity,
                        leaders, joined, history=leaders.tolist(),
                        attendance=attendance, empty_after=empty_after)
        if self.trial is not None:  # the course's end is the trial's measurement time in this site
            end = week + p.course.sessions - 1
            reg.schedule_measurement(declined, end)
            reg.schedule_controls(m.index, week, end)
        vols.start_leading(leaders, course_id)
        vols.set_pair(leaders)
        self.courses.append(course)
        self.running.append(course)
        coordinator.n_running += 1
        self.tally("new_courses_started", 1)
        self.tally("new_citizens_started", joined.size)
        return True

    def _hold_sessions(self, week: int) -> None:
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
                self._end_course(course, week, cancelled=False)
        self.tally("new_attendances", attended)

    def _end_course(self, course: Course, week: int, *, cancelled: bool) -> None:
        if cancelled:
            self.citizens.stop_course(course.participants, week)
        completed = self.citizens.end_course(course.participants, week)
        self.volunteers.finish_leading(course.leaders, week)
        course.end_week = week
        course.cancelled = cancelled
        self.running.remove(course)
        self.coordinator_list[course.coordinator].n_running -= 1
        self.tally("new_courses_ended", 1)
        self.tally("new_citizens_completed", completed)
        if cancelled:
            self.tally("new_courses_cancelled", 1)
        # completers who will later volunteer
        vp = self.p.volunteers
        done = course.participants[self.citizens.completed[course.participants]]
        if done.size and vp.former_participant_volunteer_share > 0:
            joiners = done[self.streams["volunteers"].random(done.size) < vp.former_participant_volunteer_share]
            for r in joiners:
                self.pending_joiners[week + vp.former_participant_delay_weeks].append((int(r), course.coordinator))

    # -- volunteers -------------------------------------------------------------------------
    def recruit(self, coordinator: Coordinator, k: int) -> np.ndarray:
        rows = self.volunteers.add(k, coordinator.index, self.week)
        self._make_volunteer_agents(rows)
        self.tally("new_volunteers_recruited", k)
        return rows

    def _join_former_participants(self, week: int) -> None:
        joiners = self.pending_joiners.pop(week, None)
        if not joiners:
            return
        for cit, coord in joiners:
            rows = self.volunteers.add(1, coord, week, citizen_ids=np.array([cit]))
            self.citizens.ti_volunteer[cit] = week
            self._make_volunteer_agents(rows)
        self.tally("new_volunteers_recruited", len(joiners))
        self.tally("new_former_participants_joined", len(joiners))

    def _make_volunteer_agents(self, rows: np.ndarray) -> None:
        if self.make_agents:
            for r in rows:
                Volunteer(self, int(r))

    def graduate(self, coordinator: Coordinator, cohort: np.ndarray) -> None:
        vols = self.volunteers
        drop = self.streams["volunteers"].random(cohort.size) < self.p.volunteers.training_dropout_share
        gone, ok = cohort[drop], cohort[~drop]
        vols.set_state(gone, VolunteerState.LEFT)
        vols.ti_left[gone] = self.week
        vols.set_state(ok, VolunteerState.AVAILABLE)
        vols.ti_trained[ok] = self.week
        vols.quality[ok] = coordinator.cp.training_quality
        self.tally("new_volunteers_trained", ok.size)
        self.tally("new_training_dropouts", gone.size)
        self.tally("new_volunteers_left", gone.size)

    def _volunteers_week(self, week: int) -> None:
        vols = self.volunteers
        if vols.n == 0:
            return
        out = vols.step(week, [c.supervision_level for c in self.coordinator_list], self.streams["volunteers"])
        burned, left, returned = out["burned"], out["left"], out["returned"]
        if burned.size:
            self.tally("new_volunteer_burnouts", burned.size)
        if left.size:
            self.tally("new_volunteers_left", left.size)
        if returned.size:
            self.tally("new_volunteer_returns", returned.size)
        if burned.size or left.size:
            lost = np.concatenate([burned, left])
            for v in lost[vols.course[lost] >= 0]:
                self._replace_leader(int(v), week)

    def _replace_leader(self, v: int, week: int) -> None:
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
            self._end_course(course, week, cancelled=True)

    # -- records ----------------------------------------------------------------------------
    def _collect(self) -> None:
        """Step 6: this week's flows and the stocks at the end of the week."""
        week = self.week
        rec = self.recorder
        reg, vols = self.citizens, self.volunteers
        coords, munis = self.coordinator_list, self.municipality_list
        supervision = forming = budget = 0.0
        hours = [0.0] * len(ACTIVITIES)
        for c in coords:
            supervision += c.supervision_level
            forming += len(c.forming)
            budget += c.budget
            hours = [a + b for a, b in zip(hours, c.hours, strict=True)]
        pool = awareness = 0.0
        for m in munis:
            pool += m.pool
            awareness += m.awareness
        counts = vols.totals()
        duty = counts[VolunteerState.AVAILABLE] + counts[VolunteerState.LEADING] + counts[VolunteerState.RESTING]
        values = [
            reg.waiting_total, reg.in_course_n, reg.comp_n, len(self.running), forming, duty,
            vols.strain[vols.on_duty()].sum() / duty if duty else 0.0,
            supervision / len(coords), pool, awareness / len(munis), *counts,
        ]
        if week:
            values += hours
            values.append(budget)
        rec.record(week, self._stock_cols, values)
