"""Trial validation check: the simulated randomised trial over many seeds, next to the published one.

The published trial (Poulsen et al. 2025, doi 10.1186/s12888-025-07011-y; docs/domain.md) found a
QPR-15 difference of 5.1 points (95% CI 2.4-7.8) at the end of the course, Cohen's d 0.43, so an
outcome SD of about 12. One simulated trial is one draw of 296 people: its difference scatters by
about +-1.4 points around what the model implies, so the check looks at the distribution over
seeds: its mean should lie within the published CI and the mean d within 0.33-0.53.

Each seed runs ``scenario=trial`` only until recruitment has closed and every randomised citizen
has been measured (the rest of the horizon does not change the trial), without tables or
economics.

    python experiments/trial_check.py [--seeds 100] [--jobs 1] [override ...]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from peersim import load_config
from peersim.model import PeersimModel
from peersim.params import PeersimConfig
from peersim.trial import trial_results

KEYS = (
    "trial_n_peer", "trial_n_sau", "trial_qpr_mean_peer", "trial_qpr_mean_sau", "trial_qpr_difference",
    "trial_qpr_difference_ci_low", "trial_qpr_difference_ci_high", "trial_cohens_d", "trial_qpr_sd",
    "trial_effect_true_mean", "trial_recruitment_weeks", "trial_peer_started_share",
    "trial_peer_completed_share", "trial_peer_mean_wait_weeks", "trial_peer_sessions_mean", "trial_n_unmeasured",
    "fidelity_mean_trial",
)


def trial_only(params: PeersimConfig) -> dict:
    """The trial_* figures of one seed: simulate until every randomised citizen is measured."""
    model = PeersimModel(params, make_agents=False)
    while model.week < model.weeks and not (model.week % 4 == 0 and model.trial_done()):
        model.step()
    citizens = model.citizens.to_frame([m.name for m in model.municipality_list])
    _, keys = trial_results(citizens, params.trial, model.trial.counts())
    closed = model.trial.closed_week or model.week
    fid = [c.fidelity for c in model.courses if c.start_week <= closed]
    keys["fidelity_mean_trial"] = float(np.mean(fid)) if fid else None
    keys["seed"] = params.seed
    return keys


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (the machine may be shared)")
    ap.add_argument("--csv", help="also write one row per seed to this CSV file")
    ap.add_argument("overrides", nargs="*", help="config overrides, e.g. recovery.effect_full_dose_qpr=8")
    args = ap.parse_args()
    base = load_config(["scenario=trial", *args.overrides])
    configs = [_with_seed(base, seed) for seed in range(args.seeds)]
    from peersim.experiments._runner import run_many

    df = run_many(configs, n_jobs=args.jobs, label="trial_check", fn=trial_only)
    if args.csv:
        df.to_csv(args.csv, index=False)
    pub = base.trial.published
    print(f"\nsimulated trial, {args.seeds} seeds ({' '.join(args.overrides) or 'defaults'})")
    for k in KEYS:
        vals = pd.to_numeric(df[k], errors="coerce").dropna().to_numpy(dtype=float)
        if vals.size:
            lo, hi = np.percentile(vals, [5, 95])
            print(f"  {k:32s} mean {vals.mean():8.2f}  sd {vals.std(ddof=1) if vals.size > 1 else 0:6.2f}"
                  f"  90% of seeds [{lo:.2f}, {hi:.2f}]")
    diff = df["trial_qpr_difference"].astype(float)
    d = df["trial_cohens_d"].astype(float)
    se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
    print(f"\n  published: difference {pub.qpr_difference} [{pub.qpr_difference_ci_low}, "
          f"{pub.qpr_difference_ci_high}], d {pub.cohens_d}, SD ~{pub.qpr_difference / pub.cohens_d:.1f}")
    print(f"  simulated: mean difference {diff.mean():.2f} (+-{1.96 * se:.2f}), mean d {d.mean():.3f}, "
          f"mean SD {df['trial_qpr_sd'].astype(float).mean():.1f}")
    ok_diff = pub.qpr_difference_ci_low <= diff.mean() <= pub.qpr_difference_ci_high
    ok_d = 0.33 <= d.mean() <= 0.53
    print(f"  difference centres within the published CI: {'yes' if ok_diff else 'NO'}; "
          f"d within 0.33-0.53: {'yes' if ok_d else 'NO'}")


def _with_seed(params: PeersimConfig, seed: int) -> PeersimConfig:
    import copy

    p = copy.deepcopy(params)
    p.seed = seed
    return p


if __name__ == "__main__":
    main()
