"""Types of the economics parameters; the values live once, in ``conf/economics/default.yaml``.

The classes declare types only (no defaults). :meth:`EconomicsParams.validate` checks ranges and
cross-field rules and raises ``ValueError`` with one line naming the key and what is allowed.

The dataclasses are deliberately not ``frozen``: OmegaConf turns a frozen dataclass into a
read-only node, and then neither Hydra composition nor ``OmegaConf.merge`` can fill it. Nothing in
the economics layer mutates a parameter object.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from peersim.economics.discounting import DiscountSchedule
from peersim.vocabulary import IMPLEMENTATIONS, QPR_MAX, SUBGROUPS, WEEKS_PER_YEAR

AREAS = ("social", "health", "employment")
MODES = ("simulated", "expected")
TARGET_BASES = ("qpr_change", "qpr_effect", "success")


@dataclass
class AreaSavings:
    """Municipal saving per successful citizen over five years, by administrative area (DKK)."""

    social: float
    health: float
    employment: float

    def total(self) -> float:
        return self.social + self.health + self.employment


@dataclass
class SubgroupSavings:
    """The SØM savings per success (:class:`AreaSavings`) for each subgroup."""

    significant: AreaSavings
    reduced: AreaSavings
    mild: AreaSavings


@dataclass
class SubgroupShares:
    """How the citizens divide into the subgroups (the standard offer's shares, summing to 1)."""

    significant: float
    reduced: float
    mild: float


@dataclass
class ImplementationCosts:
    """What differs in cost by implementation model: the staff salary, and whether a fund
    finances the programme by a conditional grant (a social-investment contract)."""

    staff_salary_dkk_per_year: float
    fund_finances_programme: bool


@dataclass
class Implementations:
    """The costs of each implementation model (:data:`peersim.vocabulary.IMPLEMENTATIONS`)."""

    local_coordinator: ImplementationCosts
    partnership: ImplementationCosts


@dataclass
class CostParams:
    """Unit costs: staff time, overhead, volunteers, premises, materials and start-up (DKK)."""

    overhead_rate: float
    hour_norm_per_year: float
    municipal_staff_salary_dkk_per_year: float
    volunteer_training_dkk_per_trainee: float
    supervision_dkk_per_volunteer_year: float
    premises_dkk_per_course_session: float
    premises_dkk_per_workshop: float
    premises_dkk_per_intro_meeting: float
    materials_dkk_per_started_citizen: float
    volunteer_expenses_dkk_per_session: float
    startup_fixed_dkk: float
    referral_hours_per_citizen: float
    steering_hours_per_meeting: float
    implementations: Implementations


@dataclass
class SavingsParams:
    """The SØM savings per attributable success and how they spread over the years after onset."""

    per_success_dkk: SubgroupSavings
    yearly_profile: list[float]
    onset_weeks_after_start: int


@dataclass
class PaymentTarget:
    """One payment target of the contract: what is measured (``basis``), the threshold, which
    subgroups count, the expected rate and the target's weight in the price."""

    basis: str
    threshold_qpr: float
    share: float
    subgroups: list[str]
    expected_rate: float
    weight: float


@dataclass
class ContractParams:
    """The outcome contract: what it is priced on, how much is repaid, the cap and the timing."""

    priced_on_implementation: str
    repayment_share_of_cost: float
    cap_factor: float
    settlement_lag_years: int
    instalment_years: int
    targets: dict[str, PaymentTarget]


@dataclass
class StandardOffer:
    """The published standard offer, used by the expected mode instead of a simulation."""

    years: int
    startup_weeks: int
    courses_per_year: int
    participants_per_course: int
    sessions_per_course: int
    coordinator_fte: float
    volunteer_pool: int
    volunteer_attrition_per_year: float
    workshops_per_year: int
    intro_meetings_per_year: int
    steering_meetings_per_year: int
    completion_rate: float
    success_rate: float
    subgroup_shares: SubgroupShares

    @property
    def weeks(self) -> int:
        return self.years * WEEKS_PER_YEAR

    @property
    def courses(self) -> int:
        return self.courses_per_year * self.years

    @property
    def citizens(self) -> int:
        return self.courses * self.participants_per_course


@dataclass
class EconomicsParams:
    """The root of the economics parameters (``conf/economics/default.yaml``)."""

    mode: str
    discount_rate: float
    discount_rate_long: float | None   # None: discount_rate throughout
    discount_long_after_years: int
    horizon_years: int | None  # None: the run's years (resolve_horizon)
    costs: CostParams
    savings: SavingsParams
    contract: ContractParams
    standard_offer: StandardOffer

    def implementation(self, name: str) -> ImplementationCosts:
        if name not in IMPLEMENTATIONS:
            raise ValueError(f"implementation={name!r} is not known; choose one of: {', '.join(IMPLEMENTATIONS)}")
        return getattr(self.costs.implementations, name)

    @property
    def discount(self) -> DiscountSchedule:
        """The discount rate as a schedule (stepped when ``discount_rate_long`` is set)."""
        return DiscountSchedule(self.discount_rate, self.discount_rate_long, float(self.discount_long_after_years))

    def resolve_horizon(self, run_years: int) -> int:
        """``horizon_years`` as set, or the run's years when it is left at null (the default)."""
        return int(self.horizon_years) if self.horizon_years is not None else int(run_years)

    def validate(self) -> EconomicsParams:
        """Check every range and cross-field rule; raise ValueError naming the first bad key."""
        _one_of("mode", self.mode, MODES)
        _between("discount_rate", self.discount_rate, 0.0, 0.2)
        if self.discount_rate_long is not None:
            _between("discount_rate_long", self.discount_rate_long, 0.0, 0.2)
        _between("discount_long_after_years", self.discount_long_after_years, 1, 100)
        if self.horizon_years is not None:
            _between("horizon_years", self.horizon_years, 1, 50)
        _validate_costs(self.costs)
        _validate_savings(self.savings)
        _validate_contract(self.contract)
        _validate_offer(self.standard_offer)
        return self


def _key(path: str) -> str:
    return f"economics.{path}"


def _between(path: str, value: float, lo: float, hi: float | None = None) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and not math.isnan(value)
    if ok and value >= lo and (hi is None or value <= hi):
        return
    allowed = f"between {lo:g} and {hi:g}" if hi is not None else f">= {lo:g}"
    raise ValueError(f"{_key(path)} must be {allowed}, got {value!r}")


def _one_of(path: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{_key(path)}={value!r} is not allowed; choose one of: {', '.join(choices)}")


def _validate_costs(c: CostParams) -> None:
    _between("costs.overhead_rate", c.overhead_rate, 0.0, 1.0)
    _between("costs.hour_norm_per_year", c.hour_norm_per_year, 1.0, 8760.0)
    for f in fields(c):
        if f.name not in ("overhead_rate", "hour_norm_per_year", "implementations"):
            _between(f"costs.{f.name}", getattr(c, f.name), 0.0)
    for name in IMPLEMENTATIONS:
        impl: ImplementationCosts = getattr(c.implementations, name)
        _between(f"costs.implementations.{name}.staff_salary_dkk_per_year", impl.staff_salary_dkk_per_year, 0.0)
        if not isinstance(impl.fund_finances_programme, bool):
            raise ValueError(
                f"{_key(f'costs.implementations.{name}.fund_finances_programme')} must be true or false, "
                f"got {impl.fund_finances_programme!r}"
            )


def _validate_savings(s: SavingsParams) -> None:
    for group in SUBGROUPS:
        amounts: AreaSavings = getattr(s.per_success_dkk, group)
        for area in AREAS:
            _between(f"savings.per_success_dkk.{group}.{area}", getattr(amounts, area), 0.0)
    profile = list(s.yearly_profile)
    if not profile or any(p < 0 for p in profile) or abs(sum(profile) - 1.0) > 1e-9:
        raise ValueError(
            f"{_key('savings.yearly_profile')} must be a non-empty list of shares >= 0 summing to 1, got {profile}"
        )
    _between("savings.onset_weeks_after_start", s.onset_weeks_after_start, 0, 520)


def _validate_contract(c: ContractParams) -> None:
    _one_of("contract.priced_on_implementation", c.priced_on_implementation, IMPLEMENTATIONS)
    _between("contract.repayment_share_of_cost", c.repayment_share_of_cost, 0.0, 10.0)
    _between("contract.cap_factor", c.cap_factor, 0.0, 10.0)
    _between("contract.settlement_lag_years", c.settlement_lag_years, 0, 20)
    _between("contract.instalment_years", c.instalment_years, 1, 20)
    if not c.targets:
        raise ValueError(f"{_key('contract.targets')} must name at least one payment target")
    for name, t in c.targets.items():
        path = f"contract.targets.{name}"
        _one_of(f"{path}.basis", t.basis, TARGET_BASES)
        _between(f"{path}.threshold_qpr", t.threshold_qpr, 0.0, QPR_MAX)
        _between(f"{path}.share", t.share, 0.0, 1.0)
        _between(f"{path}.expected_rate", t.expected_rate, 1e-9, 1.0)
        _between(f"{path}.weight", t.weight, 0.0, 1.0)
        bad = [g for g in t.subgroups if g not in SUBGROUPS]
        if not t.subgroups or bad:
            allowed = ", ".join(SUBGROUPS)
            got = list(t.subgroups)
            raise ValueError(f"{_key(path + '.subgroups')} must be a non-empty list of {allowed}, got {got}")
    total = sum(t.weight for t in c.targets.values())
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"{_key('contract.targets')} weights must sum to 1, got {total:.6g}")


def _validate_offer(o: StandardOffer) -> None:
    p = "standard_offer"
    for name in ("years", "courses_per_year", "participants_per_course", "sessions_per_course"):
        _between(f"{p}.{name}", getattr(o, name), 1)
    for name in ("volunteer_pool", "workshops_per_year", "intro_meetings_per_year", "steering_meetings_per_year"):
        _between(f"{p}.{name}", getattr(o, name), 0)
    _between(f"{p}.coordinator_fte", o.coordinator_fte, 0.0, 50.0)
    for name in ("volunteer_attrition_per_year", "completion_rate", "success_rate"):
        _between(f"{p}.{name}", getattr(o, name), 0.0, 1.0)
    latest = o.weeks - o.sessions_per_course
    _between(f"{p}.startup_weeks", o.startup_weeks, 0, latest)
    shares = [getattr(o.subgroup_shares, g) for g in SUBGROUPS]
    if any(s < 0 for s in shares) or abs(sum(shares) - 1.0) > 1e-9:
        raise ValueError(f"{_key(p + '.subgroup_shares')} must be >= 0 and sum to 1, got {shares}")
