"""The typed parameter schema of peersim.

These dataclasses declare *types and allowed ranges only*. Every value lives once, in the
top-level ``conf/`` folder, with its unit and source next to it. Hydra composes ``conf/`` against
this schema (so a typo or a wrong type fails before the run), and :func:`validate` checks the
ranges and the cross-field rules. The model and the economics layer receive these objects, never
a ``DictConfig``.

Range metadata: ``field(metadata=between(lo, hi))`` or ``field(metadata=one_of(...))``; how any
such tree is checked (types, ranges, stray keys) is :mod:`peersim.validation`, and this module
adds peersim's own rules (:func:`validate`), the uncertain parameters' distributions included.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from peersim.economics.params import EconomicsParams
from peersim.io import CSV_LOCALES
from peersim.validation import ConfigError, between, check_tree, one_of, resolve_key
from peersim.vocabulary import IMPLEMENTATIONS, QPR_MAX, SUBGROUPS, WEEKS_PER_YEAR

SHARE = between(0.0, 1.0)
NONNEG = between(0.0, None)
POSITIVE_INT = between(1, None)
SEED_MAX = 2**63 - 1  # the largest seed (numpy's SeedSequence takes any; a stored int64 column does not)


@dataclass
class ScenarioParams:
    """The scenario (``conf/scenario/``): its name and which implementation model it runs."""

    name: str
    implementation: str = field(metadata=one_of(*IMPLEMENTATIONS))
    description: str


@dataclass
class MunicipalityParams:
    """One municipality (``conf/municipality/``): its population, the share eligible, and the
    coordinator group it belongs to (municipalities of one group share a coordinator)."""

    name: str
    label: str
    population: int = field(metadata=between(1, 10_000_000))
    adult_share: float = field(metadata=SHARE)
    eligible_share: float = field(metadata=SHARE)
    eligible_turnover_per_year: float = field(metadata=SHARE)
    coordinator_group: str


@dataclass
class ReferralParams:
    """How citizens are referred (``conf/referral/``): staff referral and awareness, intro meetings
    and self-referral, declining at referral, giving up while waiting."""

    staff_referral_rate_per_year: float = field(metadata=SHARE)
    initial_awareness: float = field(metadata=SHARE)
    awareness_floor: float = field(metadata=SHARE)
    awareness_gain_per_intro_meeting: float = field(metadata=SHARE)
    awareness_decay_per_week: float = field(metadata=SHARE)
    intro_meeting_attendees_mean: float = field(metadata=NONNEG)
    self_referral_share_of_attendees: float = field(metadata=SHARE)
    decline_at_referral: float = field(metadata=SHARE)
    giveup_hazard_per_week: float = field(metadata=SHARE)
    waiting_list_target_courses: float = field(metadata=NONNEG)


@dataclass
class CoordinatorParams:
    """A coordinator's hours budget and what each activity costs (``conf/coordinator/``)."""

    fte: float = field(metadata=between(0.0, 50.0))
    productive_hours_per_fte_year: float = field(metadata=between(1.0, 2080.0))
    admin_share: float = field(metadata=SHARE)
    hours_per_course_formation: float = field(metadata=NONNEG)
    hours_per_course_week: float = field(metadata=NONNEG)
    supervision_hours_per_leader_week: float = field(metadata=NONNEG)
    hours_per_recruitment_campaign: float = field(metadata=NONNEG)
    recruits_per_campaign_mean: float = field(metadata=NONNEG)
    training_weeks: int = field(metadata=POSITIVE_INT)
    training_hours_per_week: float = field(metadata=NONNEG)
    training_quality: float = field(metadata=SHARE)
    role_support: float = field(metadata=SHARE)
    intro_meetings_per_year: float = field(metadata=between(0.0, 52.0))
    hours_per_intro_meeting: float = field(metadata=NONNEG)
    hours_per_workshop: float = field(metadata=NONNEG)
    volunteer_reserve_share: float = field(metadata=between(0.0, 5.0))
    steering_meetings_per_year: int = field(metadata=between(0, 12))


@dataclass
class CourseParams:
    """Group courses (``conf/course/``): size, sessions, formation, attendance and dropout."""

    max_participants: int = field(metadata=between(1, 20))
    min_participants_to_start: int = field(metadata=between(1, 20))
    sessions: int = field(metadata=between(1, 52))
    formation_weeks: int = field(metadata=between(0, 52))
    leaders_per_course: int = field(metadata=between(2, 2))
    decline_at_invitation: float = field(metadata=SHARE)
    attendance_mean: float = field(metadata=between(0.01, 0.99))
    attendance_concentration: float = field(metadata=between(0.1, None))
    dropout_per_session: float = field(metadata=SHARE)
    completion_min_share: float = field(metadata=SHARE)


@dataclass
class VolunteerParams:
    """Volunteers (``conf/volunteers/``): strain, burnout, exit, rest, training dropout, their
    own recovery, and former participants who volunteer."""

    strain_per_course_week: float = field(metadata=NONNEG)
    strain_recovery_per_week: float = field(metadata=SHARE)
    supervision_buffer: float = field(metadata=SHARE)
    supervision_standard_hours_per_leader_week: float = field(metadata=between(0.01, None))
    coleader_buffer: float = field(metadata=SHARE)
    burnout_threshold: float = field(metadata=between(0.0, 5.0))
    burnout_steepness: float = field(metadata=between(0.001, 5.0))
    burnout_hazard_max_per_week: float = field(metadata=SHARE)
    exit_rate_per_year: float = field(metadata=between(0.0, 10.0))
    exit_rate_strain_per_year: float = field(metadata=between(0.0, 10.0))
    pause_mean_weeks: float = field(metadata=between(1.0, None))
    leave_after_burnout_share: float = field(metadata=SHARE)
    rest_weeks_after_course: int = field(metadata=between(0, 52))
    training_dropout_share: float = field(metadata=SHARE)
    own_recovery_setback_qpr: float = field(metadata=between(0.0, QPR_MAX))
    own_recovery_regain_per_week: float = field(metadata=SHARE)
    former_participant_volunteer_share: float = field(metadata=SHARE)
    former_participant_delay_weeks: int = field(metadata=between(0, 520))


@dataclass
class RecoveryParams:
    """Citizens' QPR-15 recovery and attributable success (``conf/recovery/``, :mod:`peersim.recovery`)."""

    subgroup_shares: list[float]
    baseline_qpr_mean: list[float]
    baseline_qpr_sd: float = field(metadata=between(0.0, 30.0))
    sau_drift_qpr: float = field(metadata=between(-30.0, 30.0))
    weekly_persistence: float = field(metadata=between(0.0, 0.999))
    fluctuation_sd: float = field(metadata=between(0.0, 30.0))
    effect_full_dose_qpr: float = field(metadata=between(0.0, QPR_MAX))
    effect_scale: float = field(metadata=NONNEG)   # multiplies the programme's effect (1 = the trial's)
    effect_heterogeneity_sd: float = field(metadata=between(0.0, 5.0))
    fidelity_reference: float = field(metadata=between(0.01, 1.0))
    decay_per_week: float = field(metadata=SHARE)
    decay_per_week_companionship: float = field(metadata=SHARE)
    success_improvement_qpr: float = field(metadata=between(0.0, QPR_MAX))
    success_sustain_weeks: int = field(metadata=between(1, 520))
    follow_up_weeks: int = field(metadata=between(1, 1040))


@dataclass
class CompanionshipParams:
    """The companionship period after a course and its workshops (``conf/companionship/``)."""

    uptake: float = field(metadata=SHARE)
    weeks_from_course_start: int = field(metadata=between(0, 520))
    workshops_per_year: int = field(metadata=between(1, 52))


@dataclass
class FidelityParams:
    """How a course's fidelity emerges from its drivers (``conf/fidelity/``,
    :func:`peersim.course.course_fidelity`)."""

    weight_training: float = field(metadata=SHARE)
    weight_supervision: float = field(metadata=SHARE)
    weight_role_support: float = field(metadata=SHARE)
    weight_experience: float = field(metadata=SHARE)
    experience_courses_for_full: float = field(metadata=between(0.1, 50.0))
    noise_sd: float = field(metadata=between(0.0, 1.0))


@dataclass
class OutputParams:
    """Which files a run writes (``conf/output/``)."""

    charts: bool
    parquet: bool
    csv: bool
    csv_locale: str = field(default="en", metadata=one_of(*CSV_LOCALES))
    overwrite: bool = False  # replace another run's results in the run's folder (peersim.folders)


@dataclass
class TrialPublishedParams:
    """The randomised trial's published primary outcome (QPR-15 at the end of the course), shown
    next to the simulated trial; never used by the simulation itself."""

    source: str
    n_peer: int = field(metadata=between(1, None))
    n_sau: int = field(metadata=between(1, None))
    qpr_mean_peer: float = field(metadata=between(0.0, QPR_MAX))
    qpr_mean_peer_ci_low: float = field(metadata=between(0.0, QPR_MAX))
    qpr_mean_peer_ci_high: float = field(metadata=between(0.0, QPR_MAX))
    qpr_mean_sau: float = field(metadata=between(0.0, QPR_MAX))
    qpr_mean_sau_ci_low: float = field(metadata=between(0.0, QPR_MAX))
    qpr_mean_sau_ci_high: float = field(metadata=between(0.0, QPR_MAX))
    qpr_difference: float = field(metadata=between(-QPR_MAX, QPR_MAX))
    qpr_difference_ci_low: float = field(metadata=between(-QPR_MAX, QPR_MAX))
    qpr_difference_ci_high: float = field(metadata=between(-QPR_MAX, QPR_MAX))
    cohens_d: float = field(metadata=between(-10.0, 10.0))


TRIAL_CI_METHODS = ("welch", "pooled")


@dataclass
class TrialParams:
    """The randomised trial as a scenario (``scenario=trial``; :mod:`peersim.trial`).

    ``sites`` holds the trial municipalities (filled from the presets by ``conf/scenario/trial.yaml``);
    those not already in the run join it, each with its own coordinator.
    """

    enabled: bool
    participants: int = field(metadata=between(2, 1_000_000))
    enrolment_share: float = field(metadata=SHARE)
    block_sizes: list[int]
    stratify_by_site: bool
    run_in_weeks: int = field(metadata=between(0, 520))
    site_opening_week: dict[str, int]
    ci_level: float = field(metadata=between(0.5, 0.999))
    ci_method: str = field(metadata=one_of(*TRIAL_CI_METHODS))
    published: TrialPublishedParams
    sites: dict[str, MunicipalityParams] = field(default_factory=dict)

    def validate(self) -> None:
        if not self.block_sizes or any(b < 2 or b % 2 for b in self.block_sizes):
            raise ConfigError(
                f"trial.block_sizes must be a non-empty list of even numbers >= 2 (1:1 blocks), "
                f"got {list(self.block_sizes)}"
            )
        for name, week in self.site_opening_week.items():
            if not 0 <= week <= 520:
                raise ConfigError(f"trial.site_opening_week.{name} must be between 0 and 520, got {week}")
        for name, site in self.sites.items():
            check_tree(site, f"trial.sites.{name}")


DISTRIBUTIONS = ("uniform", "triangular", "normal", "beta")


@dataclass
class DistParams:
    """The uncertainty of one parameter: a distribution on the plausible range [lo, hi].

    ``uniform`` needs lo, hi; ``triangular`` also mode; ``normal`` and ``beta`` need mean and sd
    and are truncated to [lo, hi]. With ``relative: true`` the draw multiplies the value the
    configuration sets (for keys each scenario sets differently); lo, hi, mode and mean are then
    multipliers. Used by probabilistic sensitivity analysis, as bounds in global sensitivity
    analysis and in the parameter evidence register (see :mod:`peersim.uncertainty`).
    """

    dist: str = field(default="uniform", metadata=one_of(*DISTRIBUTIONS))
    lo: float = 0.0
    hi: float = 1.0
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    relative: bool = False
    source: str = ""


@dataclass
class UncertaintyParams:
    """Uncertain parameters by dotted key (``volunteers.supervision_buffer``)."""

    parameters: dict[str, DistParams] = field(default_factory=dict)


@dataclass
class WaveParams:
    """One wave of a roll-out plan (``conf/rollout/``): municipalities (any spelling) that start in
    one calendar year, each with its own coordinator group, run by ``implementation``."""

    year: int = field(metadata=between(1900, 2200))
    municipalities: list[str] = field(default_factory=list)
    implementation: str = field(default="local_coordinator", metadata=one_of(*IMPLEMENTATIONS))
    coordinator_fte: float | None = field(default=None, metadata=between(0.01, 10.0))  # None: the scenario's


@dataclass
class PlanBuilderParams:
    """The rule-based plan (``rollout.build``): every municipality of ``region`` (or ``all``); those
    below ``share_below_adults`` adults share a neighbour's coordinator; the largest start first; at
    most ``max_coordinators_per_year`` coordinator groups start a year (0: all in the first year)."""

    region: str | None = None
    share_below_adults: int = field(default=0, metadata=NONNEG)
    max_coordinators_per_year: int = field(default=0, metadata=NONNEG)
    implementation: str = field(default="local_coordinator", metadata=one_of(*IMPLEMENTATIONS))
    coordinator_fte: float | None = field(default=None, metadata=between(0.01, 10.0))


@dataclass
class RolloutParams:
    """A roll-out plan (``conf/rollout/``): its waves and/or rule, the municipalities served by a
    named host's coordinator (``shared_with``: municipality -> host), and the fund's fixed costs."""

    name: str
    start_year: int = field(metadata=between(1900, 2200))
    programme_office_dkk_per_year: float = field(metadata=NONNEG)
    waves: list[WaveParams] = field(default_factory=list)
    shared_with: dict[str, str] = field(default_factory=dict)
    build: PlanBuilderParams = field(default_factory=PlanBuilderParams)

    @property
    def active(self) -> bool:
        return bool(self.waves or self.build.region)


@dataclass
class PeersimConfig:
    """The root of a composed peersim configuration."""

    seed: int = field(metadata=between(0, SEED_MAX))
    years: int = field(metadata=between(1, 50))
    scenario: ScenarioParams
    municipality: MunicipalityParams
    shared_with: list[str]
    extra_municipalities: list[MunicipalityParams]
    referral: ReferralParams
    coordinator: CoordinatorParams
    course: CourseParams
    volunteers: VolunteerParams
    recovery: RecoveryParams
    companionship: CompanionshipParams
    fidelity: FidelityParams
    economics: EconomicsParams
    output: OutputParams
    uncertainty: UncertaintyParams
    trial: TrialParams
    rollout: RolloutParams
    # the experiment selected with experiment=<name> (conf/experiment/), or None for one run;
    # typed by the experiment's own schema (peersim.experiments.SCHEMAS)
    experiment: Any = None

    @property
    def weeks(self) -> int:
        return self.years * WEEKS_PER_YEAR

    @property
    def municipalities(self) -> list[MunicipalityParams]:
        """Every municipality of the run: the main one, the extra ones and, in a trial, the trial
        sites not already among them (in that order)."""
        out = [self.municipality, *self.extra_municipalities]
        if self.trial.enabled and self.trial.sites:
            names = {m.name for m in out}
            out += [m for m in self.trial.sites.values() if m.name not in names]
        return out


def validate(cfg: PeersimConfig) -> PeersimConfig:
    """Check every range and every cross-field rule; raise :class:`ConfigError` on the first."""
    check_tree(cfg, "")
    rec = cfg.recovery
    if len(rec.subgroup_shares) != len(SUBGROUPS):
        raise ConfigError(
            f"recovery.subgroup_shares needs {len(SUBGROUPS)} shares ({', '.join(SUBGROUPS)}), "
            f"got {len(rec.subgroup_shares)}"
        )
    if any(s < 0 for s in rec.subgroup_shares) or abs(sum(rec.subgroup_shares) - 1.0) > 1e-6:
        raise ConfigError(
            f"recovery.subgroup_shares must be >= 0 and sum to 1, got {list(rec.subgroup_shares)}"
        )
    if len(rec.baseline_qpr_mean) != len(SUBGROUPS) or not all(
        0 <= m <= QPR_MAX for m in rec.baseline_qpr_mean
    ):
        raise ConfigError(
            "recovery.baseline_qpr_mean needs 3 values between 0 and 60 (QPR-15 scale), "
            f"got {list(rec.baseline_qpr_mean)}"
        )
    c = cfg.course
    if c.min_participants_to_start > c.max_participants:
        raise ConfigError(
            f"course.min_participants_to_start ({c.min_participants_to_start}) must be <= "
            f"course.max_participants ({c.max_participants})"
        )
    names = [m.name for m in cfg.municipalities]
    if len(set(names)) != len(names):
        raise ConfigError(f"municipality names must be unique, got {names}")
    unknown = sorted(set(cfg.trial.site_opening_week) - set(names)) if cfg.trial.enabled else []
    if unknown:
        raise ConfigError(
            f"trial.site_opening_week names {', '.join(unknown)}, which is not a municipality of the run; "
            f"choose from: {', '.join(names)}"
        )
    _check_uncertainty(cfg)
    _check_experiment_seeds(cfg)
    if cfg.rollout.active:  # the plan's names, waves and sharing, before any run
        from peersim.rollout.plan import build_plan

        build_plan(cfg.rollout, cfg.years)
    f = cfg.fidelity
    total = f.weight_training + f.weight_supervision + f.weight_role_support + f.weight_experience
    if abs(total - 1.0) > 1e-6:
        raise ConfigError(
            "fidelity.weight_training + weight_supervision + weight_role_support + weight_experience "
            f"must sum to 1, got {total:.4g}"
        )
    return cfg


def _check_experiment_seeds(cfg: PeersimConfig) -> None:
    """An experiment runs the seeds ``seed``, ``seed + 1``, ...: the last one must be a seed too.
    Its schema says how many it uses, and set by what, with ``seeds_used() -> (count, keys)``;
    the refusal names what the user typed, before any run."""
    seeds_used = getattr(cfg.experiment, "seeds_used", None)
    if not callable(seeds_used):
        return
    count, keys = seeds_used()
    if count > 1 and cfg.seed > SEED_MAX - (count - 1):
        raise ConfigError(
            f"seed={cfg.seed} with {keys} needs the seeds {cfg.seed} to seed + {count - 1}, past the largest "
            f"seed {SEED_MAX}; choose seed <= {SEED_MAX - (count - 1)} or fewer replications")


def _check_uncertainty(cfg: PeersimConfig) -> None:
    """Every uncertain key is a numeric parameter, every distribution well formed, and (for
    absolute ones) its range inside the parameter's allowed range."""
    for key, d in cfg.uncertainty.parameters.items():
        node, name = resolve_key(cfg, key)
        current = getattr(node, name)
        if isinstance(current, bool) or not isinstance(current, int | float):
            raise ConfigError(f"uncertainty.parameters.{key}: '{key}' is not a numeric parameter")
        _check_dist(key, d)
        if not d.relative:
            meta = next(f.metadata for f in dataclasses.fields(node) if f.name == name)
            lo, hi = meta.get("lo"), meta.get("hi")
            if (lo is not None and d.lo < lo) or (hi is not None and d.hi > hi):
                raise ConfigError(
                    f"uncertainty.parameters.{key}: range [{d.lo}, {d.hi}] leaves the allowed "
                    f"range of {key} [{lo}, {hi}]"
                )


def _check_dist(key: str, d: DistParams) -> None:
    where = f"uncertainty.parameters.{key}"
    if not d.lo < d.hi:
        raise ConfigError(f"{where}: lo ({d.lo}) must be below hi ({d.hi})")
    if d.dist == "triangular":
        if d.mode is None or not d.lo <= d.mode <= d.hi:
            raise ConfigError(f"{where}: a triangular distribution needs lo <= mode <= hi")
    elif d.dist in ("normal", "beta"):
        if d.mean is None or d.sd is None or d.sd <= 0 or not d.lo <= d.mean <= d.hi:
            raise ConfigError(f"{where}: a {d.dist} distribution needs mean within [lo, hi] and sd > 0")
        if d.dist == "beta":
            width = d.hi - d.lo
            m = (d.mean - d.lo) / width
            v = (d.sd / width) ** 2
            if not 0 < m < 1 or v >= m * (1 - m):
                raise ConfigError(f"{where}: beta sd ({d.sd}) is too large for its mean and range")
