"""Municipalities: the eligible target pool and the two referral channels.

The eligible pool is a count, not agents. Each week municipal staff refer a share of it
(``staff_referral_rate_per_year / 52`` scaled by awareness), and citizens who came to last week's
intro meetings refer themselves. Awareness starts low, rises with each intro meeting and fades
slowly toward a floor. The pool is renewed as people enter and leave eligibility.

Random numbers: the staff referrals and the self-referrals each draw one uniform a week from the
municipality's own stream, turned into counts by inverting their distributions
(:mod:`peersim.streams`), so in arms run with the same seed a week's referrals differ only as
much as the arms' awareness, pool and intro meetings make them differ.
"""

from __future__ import annotations

from mesa import Agent, Model

from peersim.params import MunicipalityParams, ReferralParams
from peersim.streams import binomial_inverse, poisson_inverse, substream
from peersim.vocabulary import WEEKS_PER_YEAR


class Municipality(Agent):
    """A municipality: a Mesa agent that owns its eligible pool (a count), its staff's
    awareness of the programme and the intro meetings held last week, and draws each week's
    referrals from them (step 1 of the week). ``index`` is its place in the model's list and its
    code in the registries' ``municipality`` columns; ``key`` is its key in the run's random
    streams (:func:`peersim.streams.municipality_keys`): its own stream of staff referrals,
    self-referrals and its courses' fidelity noise (``own_rng``) derives from it and the ``seed``."""

    def __init__(self, model: Model, index: int, params: MunicipalityParams,
                 referral: ReferralParams, seed: int, key: int, weeks: int) -> None:
        super().__init__(model)
        self.index = index
        self.params = params
        self.rp = referral
        self.pool_size = params.population * params.adult_share * params.eligible_share  # eligible adults at start
        self.pool = self.pool_size                                   # eligible, not yet referred
        self.awareness = referral.initial_awareness
        self.meetings_last_week = 0
        # its own stream: first one uniform a week for each referral channel, drawn for the whole
        # run at once (week t's at [t]), then one normal a course started here (fidelity noise)
        self.own_rng = substream(seed, "municipality", key)
        u = self.own_rng.random((2, weeks + 1))
        self.u_staff, self.u_self = u[0].tolist(), u[1].tolist()

    @property
    def name(self) -> str:
        return self.params.name

    def refer(self, week: int) -> tuple[int, int]:
        """This week's referrals: (by staff, self-referred after intro meetings). Every
        intro-meeting attendee self-refers with the same chance, so the self-referrals are
        Poisson with the attendees' mean times that chance."""
        rp = self.rp
        turnover = self.params.eligible_turnover_per_year / WEEKS_PER_YEAR
        self.pool += turnover * (self.pool_size - self.pool)
        p_staff = rp.staff_referral_rate_per_year * self.awareness / WEEKS_PER_YEAR
        available = int(self.pool)
        staff = binomial_inverse(self.u_staff[week], available, min(1.0, p_staff))
        self_ref = 0
        if self.meetings_last_week:
            mean = rp.intro_meeting_attendees_mean * self.meetings_last_week * rp.self_referral_share_of_attendees
            self_ref = min(poisson_inverse(self.u_self[week], mean), max(0, available - staff))
            self.meetings_last_week = 0
        self.pool -= staff + self_ref
        self.awareness -= rp.awareness_decay_per_week * (self.awareness - rp.awareness_floor)
        return staff, self_ref

    def hold_intro_meeting(self) -> None:
        """An intro meeting was held here this week: its attendees may refer themselves next
        week, and the staff's awareness rises."""
        self.meetings_last_week += 1
        self.awareness += self.rp.awareness_gain_per_intro_meeting * (1.0 - self.awareness)
