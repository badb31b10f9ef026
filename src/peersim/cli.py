"""The ``peersim`` command: a Hydra app around :func:`peersim.simulate.run`.

    peersim                                        # own local coordinator, Fredericia, 5 years
    peersim scenario=partnership municipality=fredericia seed=7
    peersim -m scenario=local_coordinator,partnership seed=1,2,3
    peersim -m hydra/launcher=slurm hydra.launcher.partition=<name> seed='range(0,100)'

A sweep (``-m``) runs its jobs through peersim.sweep: finished jobs are skipped, a failed job is
recorded and does not stop the others, and the sweep's table is gathered at its end; the
command exits with code 1 if a job did not finish.

Before Hydra starts, :mod:`peersim.precheck` composes the command line against the schema, so
that bad input stops with one line naming the key and what is allowed (exit code 2), before any
output folder is created.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from peersim.precheck import config_dirs, export_config_dirs, precheck
from peersim.validation import ConfigError

__all__ = ["config_dirs", "main", "precheck"]

def _start_run_folder(out: Path, params) -> None:
    """Check the run's folder again (a folder precheck could not name) and remove what an earlier
    run left in it, so that it never mixes two runs (:mod:`peersim.folders`)."""
    from peersim.config import config_hash
    from peersim.folders import check_run_folder, clear_results

    check_run_folder(out, config_hash(params) if params.experiment is None else None,
                     overwrite=params.output.overwrite)
    clear_results(out)


def _record_failure(out: Path, exc: BaseException) -> None:
    """A run that failed leaves ``error.txt`` (the one-line error, then the traceback) in its
    folder, and no ``summary.json``; not when the folder was refused (it is another run's)."""
    from peersim.folders import FolderInUse, failure_text, one_line, record_failure

    if not isinstance(exc, FolderInUse) and out.is_dir():
        try:
            record_failure(out, failure_text(exc, one_line(exc), f"folder: {out}\n\n"))
        except OSError:  # the folder cannot be written (the error being reported may say so)
            pass


def _quiet_libraries() -> None:
    """Hydra logs at INFO; Mesa logs every step and matplotlib its font cache at that level."""
    import logging

    for name in ("MESA", "matplotlib"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _task(cfg) -> None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from peersim.config import to_params

    hydra_cfg = HydraConfig.get()
    out = Path(hydra_cfg.runtime.output_dir)
    task_overrides = list(hydra_cfg.overrides.task)
    if hydra_cfg.mode == RunMode.MULTIRUN:  # skip if done, catch and record a failure (peersim.sweep)
        from peersim.lifeline import end_with_command
        from peersim.sweep import run_job

        end_with_command()  # in a joblib worker (hydra/launcher=joblib): end when the command is killed

        _quiet_libraries()
        run_job(out, lambda: to_params(cfg), task_overrides, _run_one)
        return
    try:
        params = to_params(cfg)
        _quiet_libraries()
        _start_run_folder(out, params)
        # experiments check their own inputs (e.g. every drawn parameter set) before simulating
        _run_one(params, out, task_overrides)
    except (ConfigError, OSError) as exc:  # one line (peersim.cli_errors), not Hydra's report
        from peersim.cli_errors import stop_line

        line, code = stop_line(exc) or (f"peersim: error: {exc}", 1)
        print(line, file=sys.stderr)
        _discard_unfinished(out, f"{hydra_cfg.job.name}.log")
        _record_failure(out, exc)
        sys.exit(code)
    except (Exception, KeyboardInterrupt) as exc:
        _record_failure(out, exc)
        raise


def _discard_unfinished(out: Path, log_name: str) -> None:
    """Remove the run folder peersim made for a run that stopped on bad input before writing
    anything (it holds only ``.hydra/`` and an empty log), so no folder looks like a result. A
    folder given with ``hydra.run.dir`` is the user's: it is left as it is."""
    import shutil

    from peersim import run_dirs

    made = run_dirs.created_run_dir_parents.get(str(out.resolve()))
    if made is None:
        return
    try:
        entries = {p.name for p in out.iterdir()}
        if not entries <= {".hydra", log_name} or (log_name in entries and (out / log_name).stat().st_size):
            return
    except OSError:
        return
    shutil.rmtree(out, ignore_errors=True)
    for parent in made:  # outputs/<date>/, outputs/
        try:  # if made for this run and still empty
            parent.rmdir()
        except OSError:
            break


def _run_one(params, out: Path, task_overrides: list[str]) -> None:
    """Run one configuration (or one experiment) into ``out`` and print its key figures."""
    from peersim.simulate import run

    t0 = time.perf_counter()
    if params.experiment is not None:
        from peersim.experiments import base_overrides, find

        overrides = base_overrides(task_overrides)
        exp = find(params)
        exp.run(params, overrides, out)
        print(f"peersim experiment={exp.name}: done in {time.perf_counter() - t0:.1f} s; outputs: {out}")
        return
    if params.rollout.active:  # a roll-out plan: many coordinator groups (peersim.rollout)
        from peersim.rollout.report import plan_lines, run_plan

        result = run_plan(params)
        result.write(out)
        print(plan_lines(result.summary, time.perf_counter() - t0, out))
        return
    result = run(params)
    result.write(out)
    s = result.summary
    # what else the command line (or the sweep, for this job) set; the line already says the rest
    shown = ("scenario", "municipality", "seed", "years")
    swept = [o for o in task_overrides
             if (k := o.split("=", 1)[0].lstrip("+~")) not in shown and not k.startswith(("hydra", "output."))]
    print(
        f"peersim {s['scenario']} | {s['municipality']} | seed {s['seed']} | {s['years']} years"
        f"{' | ' + ' '.join(swept) if swept else ''} ({time.perf_counter() - t0:.2f} s)\n"
        f"  courses started {s['courses_started']} ({s['courses_per_year']:.1f}/yr), "
        f"citizens referred {s['citizens_referred']}, started {s['citizens_started']}, "
        f"completed {s['citizens_completed']}, gave up waiting {s['citizens_gave_up_waiting']}\n"
        f"  volunteers recruited {s['volunteers_recruited']}, active at end {s['volunteers_active_end']}, "
        f"burnouts {s['volunteer_burnouts']}; attributable successes {s['successes']}\n"
        f"{_money_lines(s)}"
        f"{_trial_lines(s)}"
        f"  outputs: {out}\n",
        end="", flush=True,  # one write: in a sweep, other workers print to the same terminal
    )


def _money_lines(s: dict) -> str:
    """The municipality's and the fund's money in both views (docs/economics.md, section 2)."""
    if "net_municipal_budget_dkk" not in s:
        return ""
    years = s["years"]

    def when(year: int | None, never: str) -> str:
        return never if year is None else f"year {year}"

    later = when(s["break_even_year"], "never")
    span = "1 year" if years == 1 else f"{years} years"
    within = when(s["break_even_year_budget"], f"not within {span}")
    text = (f"  municipality, budget view: net after {span} {s['net_municipal_budget_dkk']:,.0f} DKK; "
            f"break-even {within} ({later} counting savings after the run)\n"
            f"  municipality, SØM view (every success's 5-year saving, also after the run): net "
            f"{s['net_municipal_dkk']:,.0f} DKK\n")
    if s.get("contract_active"):
        text += (f"  fund: net {s['fund_net_dkk']:,.0f} DKK once every payment is in ({s['fund_net_budget_dkk']:,.0f} "
                 f"after {span}); capital outlay {s['fund_capital_outlay_dkk']:,.0f} DKK; paid back "
                 f"{when(s['break_even_year_fund'], 'never')}\n")
    return text


def _trial_lines(s: dict) -> str:
    """scenario=trial: the trial's outcome, and a warning if the horizon cut it short."""
    if "trial_qpr_difference" not in s:
        return ""
    def num(key: str) -> str:
        v = s.get(key)
        return "n/a" if v is None else f"{v:.2f}"
    text = (f"  trial: randomised {s['trial_randomised']} (measured {s['trial_n_peer']} peer, {s['trial_n_sau']} "
            f"service as usual); QPR-15 difference {num('trial_qpr_difference')} "
            f"[{num('trial_qpr_difference_ci_low')}, {num('trial_qpr_difference_ci_high')}], "
            f"Cohen's d {num('trial_cohens_d')}\n")
    if not s.get("trial_recruitment_complete") or s.get("trial_n_unmeasured"):
        text += (f"  warning: the trial is incomplete at the end of the horizon (recruitment "
                 f"{'complete' if s.get('trial_recruitment_complete') else 'still open'}, "
                 f"{s.get('trial_n_unmeasured', 0)} randomised not yet measured); give more years, e.g. years=5\n")
    return text


# Hydra's flags that still make one run (every other flag prints something, or sweeps)
_RUN_FLAGS = ("-r", "--run", "-cp", "--config-path", "-cn", "--config-name", "-cd", "--config-dir")


def main() -> None:
    """The ``peersim`` command; what stops it is one line (:func:`peersim.cli_errors.as_command`)."""
    from peersim.cli_errors import as_command

    as_command(_main, sys.argv[1:])


def _main() -> None:
    import peersim.experiments  # noqa: F401  (registers the experiments' schemas with Hydra)
    from peersim.config import normalise_override

    sys.argv[1:] = argv = [normalise_override(a) for a in sys.argv[1:]]
    precheck(argv)  # ConfigError: one line, exit code 2 (main)
    export_config_dirs(argv)

    import hydra

    from peersim import run_dirs, sweep
    from peersim.config import conf_dir, register_schema

    # a single run claims its folder (two runs started in the same second get two folders); not
    # when a flag other than those that choose the config asks Hydra to print or to sweep instead
    run_dirs.claim_run_dirs = not any(
        (a.startswith("-") and a not in _RUN_FLAGS and not a.startswith(tuple(f + "=" for f in _RUN_FLAGS)))
        or a.startswith("hydra.mode=") for a in argv)
    run_dirs.forget_claimed_run_dirs()

    register_schema()
    app = hydra.main(version_base=None, config_path=str(conf_dir()), config_name="config")(_task)
    try:
        app()
    finally:
        report = sweep.end_of_command()  # a sweep's table, even when the launcher gave up
    if report is not None and report.failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
