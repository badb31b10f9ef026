"""The randomised trial: allocation and the analysis of its primary outcome.

Two pure pieces, used by the model and by :func:`peersim.simulate.run` in ``scenario=trial`` and
testable on their own:

* :class:`BlockRandomiser`, the allocation sequence: 1:1 permuted blocks whose size is drawn from
  ``trial.block_sizes`` (each block holds as many PEER as SAU places, in random order), one
  sequence per stratum (per municipality when ``trial.stratify_by_site``). Every block that is
  completed is balanced, so the arms differ by at most half the largest block per stratum, and
  exactly 1:1 whenever all blocks are completed.
* :func:`compare_arms`, the analysis: mean QPR-15 per arm, the difference PEER - SAU with a
  ``level`` t interval (Welch's, which does not assume equal variances, or the pooled-variance
  one) and Cohen's d with the pooled SD, i.e. ``difference / sqrt(((n1-1)s1^2 + (n2-1)s2^2) /
  (n1+n2-2))``. The published analysis used a mixed model (model-estimated marginal means); with
  randomised arms and no missing outcomes the plain difference in means estimates the same
  intention-to-treat effect.

:func:`trial_table` puts the simulated figures next to the published ones (from
``conf/trial/default.yaml``, ``trial.published``) and :func:`trial_summary` gives the flat
``trial_*`` keys of ``summary.json``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from peersim.params import TrialParams, TrialPublishedParams

PEER, SAU = 1, 0          # arm codes in the citizens' registry (NOT_RANDOMISED = -1)
ARM_NAMES = {SAU: "sau", PEER: "peer"}


class BlockRandomiser:
    """1:1 permuted-block allocation with random block sizes, one sequence per stratum."""

    def __init__(self, block_sizes: Sequence[int], n_strata: int, rng: np.random.Generator) -> None:
        sizes = [int(b) for b in block_sizes]
        if not sizes or any(b < 2 or b % 2 for b in sizes):
            raise ValueError(f"block sizes must be even numbers >= 2, got {sizes}")
        self.sizes = sizes
        self.rng = rng
        self.queues: list[deque[int]] = [deque() for _ in range(n_strata)]

    def _new_block(self) -> np.ndarray:
        size = self.sizes[int(self.rng.integers(len(self.sizes)))] if len(self.sizes) > 1 else self.sizes[0]
        block = np.repeat([PEER, SAU], size // 2)
        self.rng.shuffle(block)
        return block

    def allocate(self, stratum: int, n: int) -> np.ndarray:
        """The next ``n`` allocations (PEER = 1, SAU = 0) of a stratum, in order."""
        q = self.queues[stratum]
        out = np.empty(n, dtype=np.int64)
        for i in range(n):
            if not q:
                q.extend(self._new_block().tolist())
            out[i] = q.popleft()
        return out


@dataclass(frozen=True)
class ArmComparison:
    """The primary-outcome analysis of a two-arm trial (PEER minus SAU)."""

    n_peer: int
    n_sau: int
    mean_peer: float
    mean_sau: float
    sd_peer: float
    sd_sau: float
    ci_mean_peer: tuple[float, float]
    ci_mean_sau: tuple[float, float]
    difference: float
    ci_low: float
    ci_high: float
    df: float
    sd_pooled: float
    cohens_d: float
    method: str
    level: float


def _t_quantile(level: float, df: float) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + level / 2.0, df)) if df > 0 else math.nan


def _mean_ci(x: np.ndarray, level: float) -> tuple[float, float]:
    n = x.size
    if n < 2:
        return (math.nan, math.nan)
    half = _t_quantile(level, n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
    m = float(x.mean())
    return (m - half, m + half)


def compare_arms(peer: Sequence[float] | np.ndarray, sau: Sequence[float] | np.ndarray, *,
                 level: float = 0.95, method: str = "welch") -> ArmComparison:
    """Difference in means PEER - SAU with a t interval, and Cohen's d (pooled SD).

    Missing values (NaN) are left out. With fewer than two values in an arm the spread-based
    figures are NaN.
    """
    if method not in ("welch", "pooled"):
        raise ValueError(f"method must be 'welch' or 'pooled', got {method!r}")
    x = np.asarray(peer, dtype=float)
    y = np.asarray(sau, dtype=float)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    n1, n2 = x.size, y.size
    m1 = float(x.mean()) if n1 else math.nan
    m2 = float(y.mean()) if n2 else math.nan
    v1 = float(x.var(ddof=1)) if n1 > 1 else math.nan
    v2 = float(y.var(ddof=1)) if n2 > 1 else math.nan
    diff = m1 - m2
    if n1 > 1 and n2 > 1:
        pooled_var = ((n1 - 1) * v1 + (n2 - 1) * v2) / (n1 + n2 - 2)
        sd_pooled = math.sqrt(pooled_var)
        if method == "welch":
            a, b = v1 / n1, v2 / n2
            se = math.sqrt(a + b)
            df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1)) if a + b > 0 else math.inf
        else:
            se = sd_pooled * math.sqrt(1.0 / n1 + 1.0 / n2)
            df = float(n1 + n2 - 2)
        half = _t_quantile(level, df) * se
        d = diff / sd_pooled if sd_pooled > 0 else math.nan
    else:
        sd_pooled = half = df = d = math.nan
    return ArmComparison(
        n_peer=n1, n_sau=n2, mean_peer=m1, mean_sau=m2,
        sd_peer=math.sqrt(v1) if v1 == v1 else math.nan, sd_sau=math.sqrt(v2) if v2 == v2 else math.nan,
        ci_mean_peer=_mean_ci(x, level), ci_mean_sau=_mean_ci(y, level),
        difference=diff, ci_low=diff - half, ci_high=diff + half, df=float(df),
        sd_pooled=sd_pooled, cohens_d=d, method=method, level=level,
    )


def trial_summary(c: ArmComparison) -> dict[str, float | int]:
    """The flat ``trial_*`` keys of ``summary.json``."""
    return {
        "trial_n_peer": c.n_peer,
        "trial_n_sau": c.n_sau,
        "trial_qpr_mean_peer": c.mean_peer,
        "trial_qpr_mean_sau": c.mean_sau,
        "trial_qpr_difference": c.difference,
        "trial_qpr_difference_ci_low": c.ci_low,
        "trial_qpr_difference_ci_high": c.ci_high,
        "trial_cohens_d": c.cohens_d,
        "trial_qpr_sd": c.sd_pooled,
        "trial_qpr_sd_peer": c.sd_peer,
        "trial_qpr_sd_sau": c.sd_sau,
    }


def trial_table(c: ArmComparison, published: TrialPublishedParams) -> pd.DataFrame:
    """One row per figure: the simulated value (with its interval) next to the published one.

    The published SD is not reported by the paper; it is derived here as difference / d.
    """
    pub = asdict(published)
    pct = f"{round(100 * c.level)}%"
    rows = [
        ("n_peer", "participants in the PEER + service as usual arm (randomised and measured)", c.n_peer, None, None,
         pub["n_peer"], None, None, ""),
        ("n_sau", "participants in the service-as-usual arm (randomised and measured)", c.n_sau, None, None,
         pub["n_sau"], None, None, ""),
        ("qpr_mean_peer", "mean QPR-15 at the end of the course, PEER arm (points)", c.mean_peer,
         *c.ci_mean_peer, pub["qpr_mean_peer"], pub["qpr_mean_peer_ci_low"], pub["qpr_mean_peer_ci_high"],
         f"simulated: raw mean with {pct} t interval; published: model-estimated marginal mean"),
        ("qpr_mean_sau", "mean QPR-15 at the end of the course, SAU arm (points)", c.mean_sau,
         *c.ci_mean_sau, pub["qpr_mean_sau"], pub["qpr_mean_sau_ci_low"], pub["qpr_mean_sau_ci_high"],
         f"simulated: raw mean with {pct} t interval; published: model-estimated marginal mean"),
        ("qpr_difference", "difference PEER - SAU (QPR-15 points)", c.difference, c.ci_low, c.ci_high,
         pub["qpr_difference"], pub["qpr_difference_ci_low"], pub["qpr_difference_ci_high"],
         f"simulated: {pct} {'Welch' if c.method == 'welch' else 'pooled-variance'} t interval"),
        ("cohens_d", "Cohen's d (difference / pooled SD)", c.cohens_d, None, None,
         pub["cohens_d"], None, None, ""),
        ("qpr_sd", "pooled SD of QPR-15 at the end of the course (points)", c.sd_pooled, None, None,
         pub["qpr_difference"] / pub["cohens_d"] if pub["cohens_d"] else None, None, None,
         "published: derived as difference / d"),
    ]
    cols = ["figure", "description", "simulated", "simulated_ci_low", "simulated_ci_high",
            "published", "published_ci_low", "published_ci_high", "note"]
    df = pd.DataFrame(rows, columns=cols)
    for col in ("simulated", "simulated_ci_low", "simulated_ci_high", "published", "published_ci_low",
                "published_ci_high"):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    df["source"] = published.source
    return df


def trial_results(citizens: pd.DataFrame, tp: TrialParams,
                  recruitment: dict[str, int | None]) -> tuple[pd.DataFrame, dict[str, float | int | None]]:
    """The trial table and the ``trial_*`` summary keys of a run, from its citizens table.

    ``citizens`` has the trial columns (``trial_arm``, ``qpr_trial``, ``ti_randomised``,
    ``ti_trial_measured``); ``recruitment`` the model's counts (randomised, referred,
    not_enrolled, closed_week). Randomised citizens not yet measured at the end of the run (a
    horizon too short) are left out of the comparison and counted in ``trial_n_unmeasured``.
    """
    arm = citizens["trial_arm"]
    measured = citizens["ti_trial_measured"].notna()
    peer = citizens.loc[(arm == "peer") & measured, "qpr_trial"].to_numpy(dtype=float)
    sau = citizens.loc[(arm == "sau") & measured, "qpr_trial"].to_numpy(dtype=float)
    comparison = compare_arms(peer, sau, level=tp.ci_level, method=tp.ci_method)
    keys: dict[str, float | int | None] = trial_summary(comparison)
    randomised = arm.notna()
    peer_rows = citizens[arm == "peer"]
    closed = recruitment.get("closed_week")
    first = citizens.loc[randomised, "ti_randomised"]
    started_peer = peer_rows["started"]
    keys.update({
        "trial_randomised": int(randomised.sum()),
        "trial_n_unmeasured": int((randomised & ~measured).sum()),
        "trial_recruitment_complete": closed is not None,
        "trial_recruitment_weeks": (int(closed - first.min() + 1) if closed is not None and len(first) else None),
        "trial_referred_while_recruiting": recruitment.get("referred"),
        "trial_not_enrolled": recruitment.get("not_enrolled"),
        "trial_peer_started_share": float(started_peer.mean()) if len(peer_rows) else None,
        "trial_peer_completed_share": float(peer_rows["completed"].mean()) if len(peer_rows) else None,
        "trial_peer_mean_wait_weeks": _mean_or_none(peer_rows.loc[started_peer, "ti_start"].astype(float)
                                                     - peer_rows.loc[started_peer, "ti_randomised"].astype(float)),
        "trial_peer_sessions_mean": float(peer_rows["sessions_attended"].mean()) if len(peer_rows) else None,
        "trial_effect_true_mean": _mean_or_none(
            (citizens.loc[(arm == "peer") & measured, "qpr_trial"]
             - citizens.loc[(arm == "peer") & measured, "qpr_cf_trial"]).astype(float)),
    })
    return trial_table(comparison, tp.published), keys


def _mean_or_none(s: pd.Series) -> float | None:
    s = s.dropna()
    return None if s.empty else float(s.mean())
