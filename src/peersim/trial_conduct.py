"""The randomised trial inside a run (``scenario=trial``): recruitment, randomisation and the
measurement of every randomised citizen.

:class:`TrialRecruitment` decides who enrols: a site enrols from the end of the run-in (later for
sites that join later; before that its referrals go to other offers); a share of the referred
enrol and are randomised 1:1 (:class:`peersim.trial.BlockRandomiser`), the others do not meet the
programme (no agents); recruitment closes when ``trial.participants`` are randomised, and from the
next week referral is as usual.

:class:`TrialCitizenRegistry` is the citizens' registry of such a run. The PEER arm joins the
waiting list as usual, the SAU arm is in state ``CONTROL`` (followed, never invited to a course,
never in companionship). Every randomised citizen is measured once (intention to treat) at the end
of the intervention:

* a PEER citizen offered a course, at the planned end of that course (its last session's week),
  whether they attended it all, dropped out, declined the seat or the course was cancelled;
* a PEER citizen who gives up while waiting, ``formation_weeks + sessions - 1`` weeks after
  randomisation (when a course begun at once would have ended) or when giving up, if later;
* a control (SAU), at the planned end of the first course that starts in their municipality after
  their randomisation: the course their PEER peers randomised at the same time join, so both arms
  are measured after the same time (under service as usual QPR-15 drifts upwards, so measuring
  one arm later would bias the difference).

The scores measured are those of the start of step 5 of the week (:mod:`peersim.recovery`).
The pure pieces of the trial, allocation and analysis, are :mod:`peersim.trial`.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from peersim.citizen import FOREVER, CitizenRegistry, CitizenState
from peersim.params import PeersimConfig
from peersim.registry import NO_WEEK
from peersim.trial import ARM_NAMES, PEER, SAU, BlockRandomiser

NOT_RANDOMISED = NO_WEEK  # ``arm`` of a citizen who was not randomised (else PEER or SAU)
UNSCHEDULED = FOREVER     # ``ti_measure`` of a control whose site has not started a course since
# states in which a randomised citizen's measurement waits (they may still start a course)
MEASURE_LATER = np.zeros(len(CitizenState), dtype=bool)
MEASURE_LATER[[CitizenState.WAITING, CitizenState.IN_COURSE]] = True


class TrialCitizenRegistry(CitizenRegistry):
    """The citizens' registry of a trial: also each citizen's arm, when they were randomised,
    when they are due to be measured and when they were; randomised citizens stay followed until
    they are measured, whatever happens to them."""

    _FLOAT = (*CitizenRegistry._FLOAT, "qpr_trial", "qpr_cf_trial")
    _INT = (*CitizenRegistry._INT, "arm", "ti_randomised", "ti_measure", "ti_measured")
    trial = True

    def randomise(self, rows: np.ndarray, arms: np.ndarray, week: int, measure_delay: int) -> None:
        """Newly enrolled citizens (just added, waiting) get their arm. PEER stays on the waiting
        list, due for measurement ``measure_delay`` weeks later unless they are offered a course
        (:meth:`schedule_measurement`). SAU becomes a followed control, measured when the site's
        next course ends (:meth:`course_started`)."""
        self.arm[rows] = arms
        self.ti_randomised[rows] = week
        self.ti_measure[rows] = np.where(arms == PEER, week + measure_delay, UNSCHEDULED)
        ctrl = rows[arms == SAU]
        self._unwait(ctrl)
        self.state[ctrl] = CitizenState.CONTROL

    def leave(self, rows: np.ndarray, state: CitizenState, week: int) -> None:
        """As :meth:`CitizenRegistry.leave`, but the randomised stay followed until their
        measurement (PEER rows have one scheduled)."""
        super().leave(rows, state, week)
        keep = rows[self.arm[rows] != NOT_RANDOMISED]
        self.follow_last[keep] = np.maximum(self.ti_measure[keep], week)

    def start_course(self, rows: np.ndarray, course_id: int, fidelity: float, week: int) -> tuple[list[int], int]:
        """As :meth:`CitizenRegistry.start_course`; the randomised among ``rows`` are measured at
        the planned end of this course (its last session's week)."""
        out = super().start_course(rows, course_id, fidelity, week)
        self.schedule_measurement(rows, week + self.cp.sessions - 1)
        return out

    def course_started(self, municipality: int, declined: np.ndarray, week: int, end_week: int) -> None:
        """The randomised who declined a seat in the course, and the municipality's controls
        randomised by now and not yet scheduled, are measured when it ends as planned (the time
        their PEER peers in it are measured)."""
        self.schedule_measurement(declined, end_week)
        w = self.window()
        pending = ((self.ti_measure[w] == UNSCHEDULED) & (self.municipality[w] == municipality)
                   & (self.ti_randomised[w] <= week) & (self.arm[w] == SAU))
        rows = pending.nonzero()[0] + self.lo
        self.ti_measure[rows] = end_week
        self.follow_last[rows] = end_week

    def schedule_measurement(self, rows: np.ndarray, week: int) -> None:
        """Randomised citizens among ``rows`` who are not yet measured are due in ``week``."""
        rows = rows[(self.arm[rows] != NOT_RANDOMISED) & (self.ti_measured[rows] == NO_WEEK)]
        self.ti_measure[rows] = week
        self.follow_last[rows] = np.maximum(self.follow_last[rows], week)

    def measure(self, week: int) -> int:
        """Measure every randomised citizen who is due (once each); return how many. The scores
        measured (``qpr_trial``, ``qpr_cf_trial``) are those of the start of step 5 of ``week``."""
        w = self.window()
        due = ((self.ti_measure[w] <= week) & (self.ti_measured[w] == NO_WEEK)
               & (self.arm[w] != NOT_RANDOMISED) & ~MEASURE_LATER[self.state[w]])
        rows = due.nonzero()[0] + self.lo
        if rows.size:
            self.ti_measured[rows] = week
        return int(rows.size)

    def all_measured(self) -> bool:
        """Every citizen randomised so far has been measured."""
        n = self.n
        return not ((self.arm[:n] != NOT_RANDOMISED) & (self.ti_measured[:n] == NO_WEEK)).any()

    def to_frame(self, municipality_names: list[str]) -> pd.DataFrame:
        """The citizens table with the trial's columns (arm, randomisation, measurement)."""
        frame = super().to_frame(municipality_names)
        sl = slice(0, self.n)
        names = [ARM_NAMES[code] for code in range(len(ARM_NAMES))]  # SAU = 0, PEER = 1
        frame["trial_arm"] = pd.Categorical.from_codes(self.arm[sl], names)  # NOT_RANDOMISED (-1): missing
        frame["ti_randomised"] = self.weeks(self.ti_randomised)
        frame["ti_trial_measured"] = self.weeks(self.ti_measured)
        frame["qpr_trial"] = self.qpr_trial[sl]
        frame["qpr_cf_trial"] = self.qpr_cf_trial[sl]
        return frame


class TrialRecruitment:
    """The trial's recruitment: which sites enrol, how many are randomised, when it closes.

    It draws from its own ``trial`` stream (derived from the seed like the named streams of
    :mod:`peersim.streams`), so the trial's enrolment and allocation do not shift any other
    mechanism's random numbers. It owns the allocation sequence and the recruitment counts.
    """

    def __init__(self, params: PeersimConfig, citizens: TrialCitizenRegistry) -> None:
        tp = params.trial
        self.tp = tp
        self.citizens = citizens
        self.rng = np.random.default_rng(
            np.random.SeedSequence(entropy=params.seed, spawn_key=(zlib.crc32(b"trial"),)))
        munis = params.municipalities
        self.randomiser = BlockRandomiser(tp.block_sizes, len(munis) if tp.stratify_by_site else 1, self.rng)
        self.stratify = tp.stratify_by_site
        # the week a site starts enrolling: after the run-in, plus its own delay
        self.opens = [tp.run_in_weeks + 1 + tp.site_opening_week.get(m.name, 0) for m in munis]
        self.measure_delay = params.course.formation_weeks + params.course.sessions - 1
        self.randomised = 0
        self.referred = 0        # referred while the site was enrolling
        self.not_enrolled = 0    # of those, not enrolled (not eligible, declined consent, or over the target)
        self.closed_week: int | None = None

    @property
    def open(self) -> bool:
        """Recruitment is still open (fewer than ``trial.participants`` randomised)."""
        return self.closed_week is None

    def counts(self) -> dict[str, int | None]:
        """The recruitment figures of the run (for the trial_* keys of the summary)."""
        return {"randomised": self.randomised, "referred": self.referred,
                "not_enrolled": self.not_enrolled, "closed_week": self.closed_week}

    def enrol(self, municipality: int, week: int, staff: int, self_ref: int) -> tuple[np.ndarray, int]:
        """Enrol and randomise a share of this week's referrals in ``municipality`` (up to the
        target); return the rows randomised and how many of them staff referred. After
        recruitment has closed, this week's referrals are counted as not enrolled."""
        k = staff + self_ref
        none = np.empty(0, dtype=np.int64), 0
        if week < self.opens[municipality] or k == 0:
            return none
        self.referred += k
        if not self.open:  # closed earlier this week
            self.not_enrolled += k
            return none
        share = self.tp.enrolment_share
        n_staff, n_self = int(self.rng.binomial(staff, share)), int(self.rng.binomial(self_ref, share))
        n = min(n_staff + n_self, self.tp.participants - self.randomised)
        n_staff = min(n_staff, n)
        self.not_enrolled += k - n
        if n == 0:
            return none
        rows = self.citizens.add(n, municipality, week)
        arms = self.randomiser.allocate(municipality if self.stratify else 0, n)
        self.citizens.randomise(rows, arms, week, self.measure_delay)
        self.randomised += n
        if self.randomised >= self.tp.participants:
            self.closed_week = week
        return rows, n_staff

    def done(self) -> bool:
        """Recruitment has closed and every randomised citizen has been measured (what follows
        does not change the trial's outcome)."""
        return not self.open and self.citizens.all_measured()
