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
   session this was end; their leaders rest; completers may later become volunteers.
4. **Volunteers.** Strain grows for leaders (buffered by this week's supervision and an
   experienced co-leader) and falls for the others; burnout, exit, return from a pause and the
   end of rest happen. A lost leader is replaced from the free volunteers, or the course stops.
5. **Citizens.** Waiting citizens may give up; every followed citizen's QPR-15 moves one week
   (counterfactual fluctuation, effect decay after the course, slower in companionship while
   workshops run); companionship periods end; attributable successes are recorded.
6. **Record.** Stocks of the week are written to the weekly table.

In a randomised trial (``scenario=trial``, :class:`TrialRecruitment`) step 1 differs while
recruitment is open: a site enrols from the end of the run-in (later for sites that join later;
before that its referrals go to other offers); a share of the referred enrol and are randomised
1:1 (:class:`peersim.trial.BlockRandomiser`), the others do not meet the programme (no agents);
recruitment closes when ``trial.participants`` are randomised, and from the next week referral
is as usual. Step 5 begins with measuring the
randomised citizens who are due (:meth:`CitizenRegistry.measure_trial`).

Citizens and volunteers are Mesa agents whose weekly state lives in numpy columns
(:mod:`peersim.citizen`, :mod:`peersim.volunteer`): steps 3-5 are vectorised passes over the
active rows only. Municipalities and coordinators are ordinary Mesa agents.
"""

from __future__ import annotations

import zlib
from collections import defaultdict

import mesa
import numpy as np

from peersim.citizen import NOT_RANDOMISED, Citizen, CitizenRegistry, CitizenState
from peersim.coordinator import ACTIVITIES, Coordinator
from peersim.course import Course, course_fidelity
from peersim.municipality import Municipality
from peersim.params import PeersimConfig
from peersim.registry import NO_WEEK
from peersim.reporting import Recorder
from peersim.streams import make_streams
from peersim.trial import BlockRandomiser
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
        self.p = params
        self.weeks = params.weeks
        self.week = 0
        self.make_agents = make_agents
        self.streams = make_streams(params.seed)
        self.citizens = CitizenRegistry(params.recovery, params.course, params.companionship,
                                        self.streams["traits"], len(params.municipalities))
        self.volunteers = VolunteerRegistry(params.volunteers)
        self.courses: list[Course] = []
        self.running: list[Course] = []
        self.recorder = Recorder(self.weeks)
        self.pending_joiners: dict[int, list[tuple[int, int]]] = defaultdict(list)
        col = self.recorder.col
        self._volunteer_cols = [col[f"n_volunteers_{s.name.lower()}"] for s in VolunteerState]
        self._qpr_cols = [col["qpr_mean_started"], col["qpr_cf_mean_started"], col["n_followed_started"]]
        self._hours_cols = [col[f"hours_{a}"] for a in ACTIVITIES] + [col["hours_budget"]]

        impl = params.scenario.implementation
        self.municipality_list = [
            Municipality(self, i, mp, params.referral, impl) for i, mp in enumerate(params.municipalities)
        ]
        self.workshop_until = np.zeros(len(self.municipality_list), dtype=np.int64)
        groups: dict[str, list[Municipality]] = {}
        for m in self.municipality_list:
            groups.setdefault(m.params.coordinator_group, []).append(m)
        self.coordinator_list = []
        for j, (name, members) in enumerate(groups.items()):
            c = Coordinator(self, j, name, members, params.coordinator)
            for m in members:
                m.coordinator = c
            self.coordinator_list.append(c)
        self.trial: TrialRecruitment | None = None
        if params.trial.enabled:
            self.trial = TrialRecruitment(self)
            self.citizens.trial = True
        self._collect()

    # -- queries used by the agents ---------------------------------------------------------
    def waiting_count(self, municipality: int) -> int:
        return int(self.citizens.waiting_n[municipality])

    def companionship_open(self, municipality: int, week: int) -> bool:
        reg = self.citizens
        w = reg.window()
        return bool(np.any((reg.comp_until[w] > week) & (reg.municipality[w] == municipality)
                           & reg.companion[w]))

    def tally(self, name: str, value: float) -> None:
        self.recorder.add(self.week, name, value)

    # -- the week ---------------------------------------------------------------------------
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
        gave_up = self.citizens.give_up(week, self.p.referral.giveup_hazard_per_week, s["waiting"])
        self.tally("new_citizens_gave_up", gave_up)
        if self.trial is not None:
            self.citizens.measure_trial(week)
        active = self.workshop_until > week
        new_success = self.citizens.recover(week, active, s["recovery"])
        self.tally("new_successes", new_success)
        # 6. record
        self._collect()

    def _referral(self, week: int) -> None:
        """Referred citizens become agents; some decline at once, the rest wait."""
        rng = self.streams["referral"]
        for m in self.municipality_list:
            staff, self_ref = m.refer(week, rng)
            k = staff + self_ref
            if k:
                rows = self.citizens.add(k, m.index, week)
                if self.make_agents:
                    for r in rows:
                        Citizen(self, int(r))
                declined = rows[rng.random(k) < self.p.referral.decline_at_referral]
                self.citizens.leave(declined, CitizenState.DECLINED, week)
                self.tally("new_citizens_referred", k)
                self.tally("new_referred_staff", staff)
                self.tally("new_referred_self", self_ref)
                self.tally("new_citizens_declined", declined.size)

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
        for _ in range(self.weeks - self.week):
            self.step()

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
        cum = np.cumsum(accept)
        invited = waiting[: int(np.searchsorted(cum, p.course.max_participants) + 1)]
        acc_mask = accept[: invited.size]
        joined, declined = invited[acc_mask], invited[~acc_mask]
        reg.leave(declined, CitizenState.DECLINED, week)
        self.tally("new_citizens_declined", declined.size)
        if joined.size < p.course.min_participants_to_start:
            return False
        course_id = len(self.courses)
        fidelity = course_fidelity(
            p.fidelity,
            training_quality=float(vols.quality[leaders].mean()),
            supervision_level=coordinator.supervision_recent,
            role_support=p.coordinator.role_support,
            leader_courses_led=vols.courses_led[leaders].astype(float),
            rng=self.streams["fidelity"],
        )
        course = Course(course_id, m.index, coordinator.index, week, p.course.sessions, fidelity,
                        leaders.copy(), joined.copy(), history=list(map(int, leaders)))
        reg.start_course(joined, course_id, fidelity, week, self.streams["companionship"])
        if self.trial is not None:  # the course's end is the trial's measurement time in this site
            end = week + p.course.sessions - 1
            reg.schedule_measurement(declined, end)
            reg.schedule_controls(m.index, week, end)
        vols.start_leading(leaders, course_id)
        vols.set_pair(leaders)
        self.courses.append(course)
        self.running.append(course)
        self.tally("new_courses_started", 1)
        self.tally("new_citizens_started", joined.size)
        return True

    def _hold_sessions(self, week: int) -> None:
        if not self.running:
            return
        dropped, attended = self.citizens.hold_sessions(week, self.streams["attendance"])
        self.tally("new_citizens_dropped_out", dropped)
        self.tally("new_attendances", attended)
        self.tally("new_course_sessions", len(self.running))
        reg = self.citizens
        for course in list(self.running):
            course.sessions_held += 1
            still = reg.state[course.participants] == CitizenState.IN_COURSE
            if course.sessions_held >= course.sessions_planned or not still.any():
                self._end_course(course, week, cancelled=False)

    def _end_course(self, course: Course, week: int, *, cancelled: bool) -> None:
        completed = self.citizens.end_course(course.participants, week)
        self.volunteers.finish_leading(course.leaders, week)
        course.end_week = week
        course.cancelled = cancelled
        self.running.remove(course)
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
        vols.state[gone] = VolunteerState.LEFT
        vols.ti_left[gone] = self.week
        vols.state[ok] = VolunteerState.AVAILABLE
        vols.ti_trained[ok] = self.week
        vols.quality[ok] = coordinator.cp.training_quality
        self.tally("new_volunteers_trained", ok.size)
        self.tally("new_training_dropouts", gone.size)
        self.tally("new_volunteers_left", gone.size)

    def _volunteers_week(self, week: int) -> None:
        vols = self.volunteers
        if vols.n == 0:
            return
        levels = np.array([c.supervision_level for c in self.coordinator_list])
        out = vols.step(week, levels, self.streams["volunteers"])
        self.tally("new_volunteer_burnouts", out["burned"].size)
        self.tally("new_volunteers_left", out["left"].size)
        self.tally("new_volunteer_returns", out["returned"].size)
        lost = np.concatenate([out["burned"], out["left"]])
        lost = lost[vols.course[lost] >= 0]
        for v in lost:
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
        week = self.week
        row = self.recorder.data[week]
        col = self.recorder.col
        reg, vols = self.citizens, self.volunteers
        w = reg.window()
        cst = np.bincount(reg.state[w], minlength=len(CitizenState))
        row[col["n_waiting"]] = cst[CitizenState.WAITING]
        row[col["n_in_course"]] = cst[CitizenState.IN_COURSE]
        row[col["n_companionship"]] = np.count_nonzero(reg.comp_until[w] > week)
        row[col["n_courses_running"]] = len(self.running)
        row[col["n_courses_forming"]] = sum(len(c.forming) for c in self.coordinator_list)
        n = vols.n
        counts = np.bincount(vols.state[:n], minlength=len(VolunteerState))
        row[self._volunteer_cols] = counts
        duty = counts[list(ON_DUTY)].sum()
        row[col["n_volunteers_active"]] = duty
        if duty:
            strain = vols.strain[:n]
            row[col["strain_mean"]] = strain.sum(where=ON_DUTY_TABLE[vols.state[:n]]) / duty
        coords, munis = self.coordinator_list, self.municipality_list
        row[col["supervision_level"]] = sum(c.supervision_level for c in coords) / len(coords)
        row[col["eligible_pool"]] = sum(m.pool for m in munis)
        row[col["awareness_mean"]] = sum(m.awareness for m in munis) / len(munis)
        row[self._qpr_cols] = reg.means
        if week:
            for c in coords:
                row[self._hours_cols] += [*c.hours.values(), c.budget]
