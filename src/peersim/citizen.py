"""Citizens: referred adults, their way through the programme, one row each.

Only people who meet the programme become agents: a citizen is created when referred. Each
citizen is a Mesa agent whose state lives in one row of a :class:`CitizenRegistry` (a struct of
numpy arrays), so the weekly work on citizens is vectorised over the rows concerned. The registry
owns the lifecycle (:class:`CitizenState`): referral, the waiting list, declining, giving up,
the course (attendance and dropout), companionship, and how long each citizen is followed. It
records the course history that recovery depends on; the QPR-15 scores themselves are computed
from that history by :mod:`peersim.recovery` when they are asked for
(:meth:`CitizenRegistry.evaluate`).

Waiting citizens give up at a constant weekly hazard: each citizen's patience (weeks of waiting
before they would give up, geometric) is drawn with their traits, and they give up in that week
if they are still waiting. In a randomised trial the registry is a
:class:`peersim.trial_conduct.TrialCitizenRegistry`, which also randomises and measures.

A citizen's own random numbers are drawn with their traits when they are referred, from the
block stream of their municipality and their place in its referral order (:data:`BLOCK`
citizens a block, :func:`peersim.streams.substream`): subgroup, baseline, responsiveness,
attendance propensity, patience, and the uniforms that decide whether they decline at referral,
decline a seat when invited, take up companionship, attend and drop out at each session, and
volunteer after completing. The n-th citizen referred in a municipality therefore makes the same
choices with the same chances in every scenario run with the same seed (common random numbers).
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import pandas as pd
from mesa import Agent, Model

from peersim.params import CompanionshipParams, CourseParams, RecoveryParams
from peersim.recovery import WeeklyRecovery
from peersim.recovery import evaluate as evaluate_recovery
from peersim.registry import NO_ROWS, NO_WEEK, PREFIX, ColumnStore
from peersim.streams import substream
from peersim.vocabulary import QPR_MAX, SUBGROUPS


class CitizenState(IntEnum):
    """Where a citizen is in the programme (the registry's ``state`` column)."""

    WAITING = 0        # referred, on the municipality's waiting list
    IN_COURSE = 1      # enrolled in a running course
    COMPANIONSHIP = 2  # course over, companionship period running
    DONE = 3           # course (and companionship) over
    DECLINED = 4       # declined at referral or declined the seat offered
    GAVE_UP = 5        # gave up while waiting
    DROPPED_OUT = 6    # left the course before its end
    CONTROL = 7        # randomised to service as usual in a trial: followed until measured, never offered a course


_WAITING, _IN_COURSE = int(CitizenState.WAITING), int(CitizenState.IN_COURSE)
_COMPANIONSHIP = int(CitizenState.COMPANIONSHIP)
FOREVER = np.iinfo(np.int32).max  # a week that never comes (follow-up not yet ended, no patience limit)

_BIT_VALUE = np.array([float(1 << j) for j in range(53)])  # bit j's value (exact in float64)
_SESSION = np.arange(53)                                      # session offsets
BLOCK = 256  # citizens a block of the traits stream (the n-th of a municipality is in block n // BLOCK)
INVITATIONS = 8  # invitations to a seat with a uniform of their own (:meth:`CitizenRegistry.invitation_draws`)


class CitizenRegistry(ColumnStore):
    """Column store of all citizens in a run; row ``i`` is the citizen with ``idx == i``.

    It owns every citizen's traits (drawn per municipality and place in its referral order from
    the ``traits`` block stream, see the module docstring), state
    and event weeks, the waiting lists' lengths, the events scheduled for a later week (giving
    up, dropping out, the end of companionship), which municipalities' workshops ran each week,
    and the window of rows still followed. The recovery columns (``x_cf``, ``effect``,
    ``success``, ``ti_success``, the ``qpr_*`` records) and ``sessions`` of citizens still in a
    course are brought up to date by :meth:`evaluate`; :meth:`to_frame`, the model's
    ``timeseries()`` and the agents' ``qpr`` call it, so read them through those.
    """

    _FLOAT_FILL = np.nan
    _FLOAT = (
        "effect", "gain", "fidelity",
        "qpr_end", "qpr_cf_end", "qpr_26w", "qpr_cf_26w",
    )
    _INT = (
        "municipality", "state", "sessions", "course",
        "ti_referred", "ti_start", "ti_course_end", "ti_exit", "ti_success", "comp_until",
        "follow_last", "ti_volunteer", "invitations",
    )
    _BOOL = ("companion", "completed", "success")
    _BITS = ("attended",)  # bit j: attended the session in week ti_start + j
    # What a citizen draws at referral: the columns of two tables (``drawn``, ``drawn_int``), each
    # copied in one go from the municipality's table of its referral order. After the named floats,
    # ``u_invite`` (a uniform for each of the first INVITATIONS invitations to a seat) and the
    # session uniforms ``u_sessions`` (dropout session, then attendance at each session). ``x_cf``
    # starts at the baseline (brought up to date by evaluate()).
    _DRAWN = ("baseline", "x_cf", "mu", "resp", "p_attend", "u_decline", "u_companion", "u_volunteer")
    _DRAWN_INT = ("subgroup", "patience", "referral_order")
    trial = False  # randomised citizens are measured (:class:`peersim.trial_conduct.TrialCitizenRegistry`)

    def __init__(self, recovery: RecoveryParams, course: CourseParams,
                 companionship: CompanionshipParams, *,
                 seed: int, giveup_hazard: float, weeks: int,
                 municipality_keys: list[int] = (0,), capacity: int = 256) -> None:
        self.rp, self.cp, self.kp = recovery, course, companionship
        self.seed = seed            # for each citizen's own random numbers (traits, recovery)
        n_municipalities = len(municipality_keys)
        self.municipality_keys = list(municipality_keys)   # each municipality's block-stream key
        self.referred_in = [0] * n_municipalities           # citizens referred so far, by municipality
        # by municipality: its citizens' draws in referral order (float and int tables), rows drawn so far
        # by municipality: (first, floats, ints), the draws of its citizens first, first + 1, ... in
        # referral order (whole blocks, from the block of the next citizen to be referred)
        self._order_tables = [(0, np.empty((0, 0)), np.empty((0, 0), dtype=np.int32))] * n_municipalities
        self.giveup_hazard = giveup_hazard
        self.waiting_n = [0] * n_municipalities  # waiting list lengths (a list: read and changed every week)
        self.waiting_total = 0                                       # their sum
        self.n = 0          # citizens so far
        self.lo = 0         # rows below lo are no longer followed (the active window is [lo, n))
        self.week = 0       # the last week completed (:meth:`end_week`)
        a = course.attendance_mean * course.attendance_concentration
        self.beta_ab = (a, course.attendance_concentration - a)
        # workshops[t, m]: municipality m's companionship workshops run in week t (recorded weekly)
        self.workshops = np.zeros((weeks + 1, n_municipalities), dtype=bool)
        self.comp_n = 0                                              # citizens in a companionship period
        self.in_course_n = 0                                         # citizens in a running course
        self.comp_last = np.full(n_municipalities, NO_WEEK, dtype=np.int64)  # latest comp_until by municipality
        self._giveups: dict[int, list[int]] = {}                     # week -> rows who give up then if waiting
        self._dropouts: dict[int, list[int]] = {}                    # week -> rows who drop out of their course
        self._comp_ends: dict[int, list[np.ndarray]] = {}            # week -> rows whose companionship ends
        self._evaluated: tuple[int, int] | None = None               # (week, n) of the last evaluation
        self._weekly: WeeklyRecovery | None = None
        self._alloc(capacity)

    def _alloc(self, capacity: int) -> None:
        """Grow the columns and the tables of drawn traits to ``capacity`` rows."""
        old_n = self.capacity
        self._grow(capacity)
        width = len(self._DRAWN) + INVITATIONS + self.cp.sessions + 1
        for table, cols, dtype, fill in (("drawn", self._DRAWN, float, np.nan),
                                         ("drawn_int", self._DRAWN_INT, np.int32, NO_WEEK)):
            new_table = np.full((capacity, width if dtype is float else len(cols)), fill, dtype=dtype)
            old = getattr(self, table, None)
            if old is not None:
                new_table[: len(old)] = old
            setattr(self, table, new_table)
            for j, name in enumerate(cols):
                setattr(self, name, new_table[:, j])  # a view: a column of the table
        j = len(self._DRAWN)
        self.u_invite = self.drawn[:, j: j + INVITATIONS]
        self.u_sessions = self.drawn[:, j + INVITATIONS:]
        new = slice(old_n, capacity)
        for name in ("sessions", "state", "invitations"):
            getattr(self, name)[new] = 0  # state 0 = WAITING
        self.effect[new] = 0.0
        self.gain[new] = 0.0
        self.follow_last[new] = FOREVER

    def _traits_block(self, municipality: int, block: int, out: np.ndarray, out_int: np.ndarray) -> None:
        """Draw the traits of citizens ``block * BLOCK`` to ``(block + 1) * BLOCK - 1`` in
        ``municipality``'s referral order from their own block stream into ``out`` (rows of the
        ``drawn`` table) and ``out_int`` (of ``drawn_int``)."""
        rp, k = self.rp, BLOCK
        rng = substream(self.seed, "traits", self.municipality_keys[municipality], block)
        sub = rng.choice(len(SUBGROUPS), size=k, p=rp.subgroup_shares)
        base = np.clip(np.asarray(rp.baseline_qpr_mean)[sub] + rp.baseline_qpr_sd * rng.standard_normal(k),
                       0.0, QPR_MAX)
        out[:, 0] = base
        out[:, 1] = base                                                                   # x_cf
        out[:, 2] = base + rp.sau_drift_qpr                                                # mu
        out[:, 3] = np.maximum(0.0, 1.0 + rp.effect_heterogeneity_sd * rng.standard_normal(k))  # resp
        out[:, 4] = rng.beta(*self.beta_ab, size=k)                                       # p_attend
        out_int[:, 1] = _geometric_weeks(1.0 - rng.random(k), self.giveup_hazard)         # patience
        # u_decline (declines at referral if below the share declining), u_companion (takes up
        # companionship if below the uptake), u_volunteer (volunteers after completing if below the
        # share who do), then u_invite and the session uniforms
        out[:, 5:] = rng.random((k, out.shape[1] - 5))
        out_int[:, 0] = sub
        out_int[:, 2] = np.arange(block * k, (block + 1) * k)                             # referral order

    def _draw_order(self, municipality: int, lo: int, hi: int) -> None:
        """Make ``municipality``'s table of draws in referral order hold its citizens ``lo`` to
        ``hi - 1`` (whole blocks; the blocks before ``lo``'s are dropped, those still needed kept)."""
        first, table, table_int = self._order_tables[municipality]
        b0, b1 = lo // BLOCK, -(-hi // BLOCK)
        new = np.empty(((b1 - b0) * BLOCK, self.drawn.shape[1]))
        new_int = np.empty(((b1 - b0) * BLOCK, len(self._DRAWN_INT)), dtype=np.int32)
        for b in range(b0, b1):
            rows = slice((b - b0) * BLOCK, (b - b0 + 1) * BLOCK)
            at = b * BLOCK - first
            if 0 <= at and at + BLOCK <= len(table):  # drawn already
                new[rows], new_int[rows] = table[at: at + BLOCK], table_int[at: at + BLOCK]
            else:
                self._traits_block(municipality, b, new[rows], new_int[rows])
        self._order_tables[municipality] = (b0 * BLOCK, new, new_int)

    # -- creation ---------------------------------------------------------------------------
    def add(self, k: int, municipality: int, week: int) -> np.ndarray:
        """Create ``k`` citizens referred in ``municipality`` with their traits; they join the
        waiting list and their patience starts to run."""
        if self.n + k > self.capacity:
            self._alloc(max(2 * self.capacity, self.n + k))
        first = self.n
        rows = slice(first, first + k)
        j0 = self.referred_in[municipality]
        j1 = self.referred_in[municipality] = j0 + k
        first_drawn, table, table_int = self._order_tables[municipality]
        if j1 > first_drawn + len(table):
            self._draw_order(municipality, j0, j1)
            first_drawn, table, table_int = self._order_tables[municipality]
        self.drawn[rows] = table[j0 - first_drawn: j1 - first_drawn]
        self.drawn_int[rows] = table_int[j0 - first_drawn: j1 - first_drawn]
        self.municipality[rows] = municipality
        self.ti_referred[rows] = week
        for r, wait in enumerate(self.patience[rows].tolist(), start=first):
            if wait < FOREVER:
                self._giveups.setdefault(week + wait, []).append(r)
        self.n += k
        self.waiting_n[municipality] += k
        self.waiting_total += k
        return np.arange(first, first + k)

    def refer(self, k: int, municipality: int, week: int, decline_share: float) -> tuple[np.ndarray, int]:
        """``k`` citizens referred in ``municipality``: they become rows, and those whose
        ``u_decline`` trait is below ``decline_share`` decline at once. Returns (rows, declined)."""
        rows = self.add(k, municipality, week)
        first = int(rows[0]) if k else 0
        declined = (self.u_decline[first: first + k] < decline_share).nonzero()[0] + first
        if declined.size:
            self.leave(declined, CitizenState.DECLINED, week)
        return rows, int(declined.size)

    def invitation_draws(self, rows: np.ndarray) -> np.ndarray:
        """The uniform of each citizen's next invitation to a seat (they decline it if it is below
        the share declining): their first INVITATIONS invitations have a uniform each, and a
        citizen invited more often than that (every course they were invited to failed to form)
        reuses them in turn."""
        return self.u_invite[rows, self.invitations[rows] % INVITATIONS]

    # -- queries ----------------------------------------------------------------------------
    def window(self) -> slice:
        """The rows still followed (those below were left behind by :meth:`end_week`)."""
        return slice(self.lo, self.n)

    def waiting(self, municipality: int) -> np.ndarray:
        """Rows on a municipality's waiting list, longest-waiting first."""
        w = self.window()
        mask = self.state[w] == _WAITING
        if len(self.waiting_n) > 1:
            mask &= self.municipality[w] == municipality
        return mask.nonzero()[0] + self.lo

    def companionship_open(self, municipality: int, week: int) -> bool:
        """Someone in ``municipality`` is in a companionship period this week."""
        return bool(self.comp_last[municipality] > week)

    # -- transitions ------------------------------------------------------------------------
    def _unwait(self, rows: np.ndarray) -> None:
        """``rows`` leave the waiting lists (their state is changed by the caller)."""
        if rows.size:
            self.waiting_total -= rows.size
            wn = self.waiting_n
            if len(wn) == 1:
                wn[0] -= rows.size
            else:
                for m in self.municipality[rows].tolist():
                    wn[m] -= 1

    def leave(self, rows: np.ndarray, state: CitizenState, week: int) -> None:
        """Declined or gave up while waiting: out of the programme, no longer followed from this
        week."""
        self._unwait(rows)
        self.state[rows] = state
        self.ti_exit[rows] = week
        self.follow_last[rows] = week - 1

    # -- the course -------------------------------------------------------------------------
    def start_course(self, rows: np.ndarray, course_id: int, fidelity: float, week: int) -> tuple[list[int], int]:
        """``rows`` join a course that starts this week (its first session is this week's).

        Who attends which session and who drops out when is drawn now, for the whole course:
        at each session a participant still in it drops out with ``dropout_per_session`` and
        otherwise attends with their own propensity (the same Bernoulli draws a session-by-session
        pass would make, from each citizen's own ``u_sessions``; companionship from ``u_companion``). Dropouts happen in their week (:meth:`drop_out`); a course stopped
        early keeps only the sessions held (:meth:`stop_course`). Returns the number attending
        each session and how many sessions are held before the last participant has dropped out
        (``sessions + 1`` if someone stays to the end).
        """
        rp, kp, cp = self.rp, self.kp, self.cp
        self._unwait(rows)
        self.state[rows] = CitizenState.IN_COURSE
        self.in_course_n += rows.size
        self.course[rows] = course_id
        self.ti_start[rows] = week
        self.fidelity[rows] = fidelity
        self.gain[rows] = (
            rp.effect_full_dose_qpr * self.resp[rows] * (fidelity / rp.fidelity_reference)
            / cp.sessions
        )
        comp = self.u_companion[rows] < kp.uptake
        self.companion[rows] = comp
        until = week + kp.weeks_from_course_start
        with_comp = rows[comp]
        k = with_comp.size
        if k:
            self.comp_until[with_comp] = until
            self.comp_n += k
            self._comp_ends.setdefault(until, []).append(with_comp)
            m = int(self.municipality[rows[0]])  # a course's participants share its municipality
            self.comp_last[m] = max(self.comp_last[m], until)
        # the sessions: dropout session (geometric; never if it is past the last) and attendance
        S = cp.sessions
        u = self.u_sessions[rows]
        drop_at = _geometric_weeks(1.0 - u[:, 0], cp.dropout_per_session)
        attend = (u[:, 1:] < self.p_attend[rows][:, None]) & (_SESSION[:S] < drop_at[:, None])
        self.attended[rows] = (attend @ _BIT_VALUE[:S]).astype(np.uint64)
        self.sessions[rows] = 0  # attended so far (brought up to date by end_course and evaluate)
        empty_after = S + 1
        dropping = drop_at < S
        n_dropping = np.count_nonzero(dropping)
        if n_dropping:
            for r, j in zip(rows[dropping].tolist(), drop_at[dropping].tolist(), strict=True):
                self._dropouts.setdefault(week + j, []).append(r)
            if n_dropping == rows.size:
                empty_after = int(drop_at.max()) + 1
        return attend.sum(axis=0).tolist(), empty_after

    def course_started(self, municipality: int, declined: np.ndarray, week: int, end_week: int) -> None:
        """A course began in ``municipality`` this week and ends as planned in ``end_week``;
        ``declined`` declined a seat in it. Nothing follows from that outside a trial
        (:meth:`peersim.trial_conduct.TrialCitizenRegistry.course_started`)."""

    def drop_out(self, week: int) -> np.ndarray:
        """This week's dropouts (before the session): they leave their course; return them."""
        due = self._dropouts.pop(week, None)
        if not due:
            return NO_ROWS
        gone = np.array(due, dtype=np.int64)
        gone = gone[self.state[gone] == _IN_COURSE]
        self.in_course_n -= gone.size
        self.sessions[gone] = np.bitwise_count(self.attended[gone])  # none from this week on
        self.state[gone] = CitizenState.DROPPED_OUT
        self.ti_exit[gone] = week
        self.ti_course_end[gone] = week
        self.follow_last[gone] = week + self.rp.follow_up_weeks
        return gone

    def stop_course(self, rows: np.ndarray, week: int) -> None:
        """A course stops after this week's session: its participants attend no later ones."""
        rows = rows[self.state[rows] == _IN_COURSE]
        held = PREFIX[min(week - int(self.ti_start[rows[0]]) + 1, 64)] if rows.size else 0
        self.attended[rows] &= held

    def end_course(self, rows: np.ndarray, week: int) -> int:
        """The last session was held (or the course stopped): its participants leave it."""
        rows = rows[self.state[rows] == _IN_COURSE]
        self.in_course_n -= rows.size
        min_sessions = self.cp.completion_min_share * self.cp.sessions
        self.sessions[rows] = np.bitwise_count(self.attended[rows])
        done = self.sessions[rows] >= min_sessions
        self.completed[rows] = done
        self.ti_course_end[rows] = week
        self.follow_last[rows] = week + self.rp.follow_up_weeks
        in_comp = self.comp_until[rows] > week
        self.state[rows] = np.where(in_comp, CitizenState.COMPANIONSHIP, CitizenState.DONE)
        return int(np.count_nonzero(done))

    # -- the weekly pass --------------------------------------------------------------------
    def give_up(self, week: int) -> int:
        """Citizens whose patience runs out this week give up, if they are still waiting."""
        due = self._giveups.pop(week, None)
        if not due:
            return 0
        rows = np.array(due, dtype=np.int64)
        rows = rows[self.state[rows] == _WAITING]
        if rows.size:
            self.leave(rows, CitizenState.GAVE_UP, week)
        return int(rows.size)

    def end_week(self, week: int, workshops: np.ndarray) -> None:
        """The end of the week for citizens: record whose workshops ran, end the companionship
        periods that are over, and move the window past citizens no longer followed."""
        self.workshops[week] = workshops
        ends = self._comp_ends.pop(week, None)
        if ends:
            rows = np.concatenate(ends)
            self.comp_n -= rows.size
            rows = rows[self.state[rows] == _COMPANIONSHIP]
            self.state[rows] = CitizenState.DONE
        lo, n = self.lo, self.n
        if lo < n and self.follow_last[lo] <= week:
            still = self.follow_last[lo:n] > week
            self.lo = lo + int(np.argmax(still)) if still.any() else n
        self.week = week

    # -- recovery ---------------------------------------------------------------------------
    def evaluate(self) -> WeeklyRecovery:
        """Every citizen's recovery up to the last completed week (:func:`peersim.recovery.evaluate`),
        and the sessions attended so far by those still in a course. Cached until the next week."""
        key = (self.week, self.n)
        if self._evaluated == key and self._weekly is not None:
            return self._weekly
        until = self.week
        w = self.window()
        now = (self.state[w] == CitizenState.IN_COURSE).nonzero()[0] + self.lo   # sessions so far
        if now.size:
            so_far = np.clip(until - self.ti_start[now] + 1, 0, 64)
            self.sessions[now] = np.bitwise_count(self.attended[now] & PREFIX[so_far])
        self._weekly = evaluate_recovery(self, until)
        self._evaluated = key
        return self._weekly

    # -- output -----------------------------------------------------------------------------
    def to_frame(self, municipality_names: list[str]) -> pd.DataFrame:
        """The citizens table: one row per citizen referred, their recovery brought up to date."""
        self.evaluate()
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
            "wait_weeks": pd.arrays.IntegerArray((self.ti_start[sl] - self.ti_referred[sl]).astype(np.int32),
                                                 self.ti_start[sl] == NO_WEEK),
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
        return frame


def _geometric_weeks(u: np.ndarray, hazard: float) -> np.ndarray:
    """Weeks ``G >= 0`` before an event of constant weekly ``hazard``, by inversion of uniforms
    ``u`` in (0, 1]: ``P(G >= g) = (1 - hazard)^g``. FOREVER when the hazard is 0."""
    if hazard <= 0.0:
        return np.full(u.shape, FOREVER, dtype=np.int64)
    if hazard >= 1.0:
        return np.zeros(u.shape, dtype=np.int64)
    g = np.floor(np.log(u) / np.log1p(-hazard))
    return np.minimum(g, FOREVER).astype(np.int64)


class Citizen(Agent):
    """A referred citizen: a Mesa agent whose state is row ``idx`` of the model's registry."""

    def __init__(self, model: Model, registry: CitizenRegistry, idx: int) -> None:
        super().__init__(model)
        self.registry = registry
        self.idx = idx

    @property
    def state(self) -> CitizenState:
        return CitizenState(self.registry.state[self.idx])

    @property
    def subgroup(self) -> str:
        return SUBGROUPS[self.registry.subgroup[self.idx]]

    @property
    def qpr(self) -> float:
        """QPR-15 at the end of the last completed week (frozen after follow-up).

        Asking recomputes every citizen's recovery once per week asked (then it is cached): to
        follow scores over a run, read the weekly means of ``model.timeseries()`` or the
        citizens' records at the end rather than every agent's ``qpr`` every week."""
        reg = self.registry
        reg.evaluate()
        return float(np.clip(reg.x_cf[self.idx] + reg.effect[self.idx], 0, QPR_MAX))

    @property
    def qpr_counterfactual(self) -> float:
        """The same citizen's QPR-15 under service as usual (without the programme)."""
        reg = self.registry
        reg.evaluate()
        return float(np.clip(reg.x_cf[self.idx], 0, QPR_MAX))
