"""The ``peersim`` command: a Hydra app around :func:`peersim.simulate.run`.

    peersim                                        # own local coordinator, Fredericia, 5 years
    peersim scenario=partnership municipality=fredericia seed=7
    peersim -m scenario=local_coordinator,partnership seed=1,2,3
    peersim -m hydra/launcher=slurm hydra.launcher.partition=<name> seed='range(0,100)'

A sweep (``-m``) runs its jobs through peersim.sweep: finished jobs are skipped, a failed job is
recorded and does not stop the others, and the sweep's table is gathered at its end; the
command exits with code 1 if a job did not finish.

Before Hydra starts, the command line is composed against the schema so that bad input stops
with one line naming the key and what is allowed (exit code 2), before any output folder is
created: once for the first job, then each further value of a sweep over a value is set on that
composed config and validated, and each further option of a sweep over a group is composed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from peersim.validation import ConfigError

# Hydra flags that take a value, and flags that change what Hydra does (then we do not pre-check)
_VALUE_FLAGS = {"--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd",
                "--package", "-p", "--experimental-rerun"}
_SPECIAL_FLAGS = {"--help", "-h", "--hydra-help", "--version", "--cfg", "-c", "--info", "-i",
                  "--shell-completion", "-sc", "--resolve", "--config-path", "-cp",
                  "--experimental-rerun"}


def _overrides(argv: list[str]) -> list[str] | None:
    """The plain overrides of a command line, or None if Hydra should handle it all itself."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in _SPECIAL_FLAGS or arg.split("=", 1)[0] in _SPECIAL_FLAGS:
            return None
        if arg in _VALUE_FLAGS:
            skip = True
            continue
        if arg.startswith("-"):
            continue
        out.append(arg)
    return out


def _config_name(argv: list[str]) -> str:
    """The primary config of the command line (``--config-name``/``-cn``), by default ``config``."""
    name = "config"
    for i, arg in enumerate(argv):
        if arg in ("--config-name", "-cn") and i + 1 < len(argv):
            name = argv[i + 1]
        elif arg.startswith(("--config-name=", "-cn=")):
            name = arg.split("=", 1)[1]
    return name.removesuffix(".yaml")


def config_dirs(argv: list[str]) -> list[str]:
    """Extra config folders on the command line, ``--config-dir``/``-cd`` and ``hydra.searchpath=[...]``
    (e.g. a calibration run folder, for ``+calibrated=<name>``): precheck composes with them, and
    :func:`main` hands them to experiments, which compose variants of the command line themselves."""
    out: list[str] = []
    for i, arg in enumerate(argv):
        if arg in ("--config-dir", "-cd") and i + 1 < len(argv):
            out.append(argv[i + 1])
        elif arg.startswith(("--config-dir=", "-cd=")):
            out.append(arg.split("=", 1)[1])
        elif arg.lstrip("+~").startswith("hydra.searchpath="):
            from hydra.core.override_parser.overrides_parser import OverridesParser

            try:
                value = OverridesParser.create().parse_override(arg.lstrip("+~")).value()
            except Exception as exc:  # the override grammar
                raise ConfigError(f"hydra.searchpath: cannot read {arg!r} ({exc})") from None
            out.extend(str(v) for v in (value if isinstance(value, list) else [value]))
    return out


def _export_config_dirs(argv: list[str]) -> None:
    """Make the command line's extra config folders known to every later composition in this
    process and its workers ($PEERSIM_CONFIG_DIRS), and folders already in that variable known
    to Hydra (as ``hydra.searchpath``) when the command line gives none."""
    import os

    from peersim.config import CONFIG_DIRS_ENV, search_dirs

    given = config_dirs(argv)
    before = [d for d in os.environ.get(CONFIG_DIRS_ENV, "").split(os.pathsep) if d]
    if before and not any(a.lstrip("+~").startswith("hydra.searchpath=") for a in argv):
        sys.argv.append(f"hydra.searchpath=[{','.join(search_dirs(before))}]")
    if given:
        os.environ[CONFIG_DIRS_ENV] = os.pathsep.join(
            [str(Path(d.removeprefix("file://")).resolve()) if not d.startswith("pkg://") else d for d in given]
            + before)


def _sweep_plan(overrides: list[str], multirun: bool) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The command line with every sweep at its first value, and each sweep's position in it with
    the overrides (``key=value``) of the values to check.

    A choice sweep (``a,b,c`` or ``choice(...)``) is checked value by value; a numeric
    ``range(...)`` by its first and last value (its values are all of one type and in between),
    computed without listing the others. A sweep over the job limit or with an empty range stops
    first (:func:`peersim.sweep.size.check_sweep_size`).
    Without ``-m`` a sweep is an error: Hydra would reject it with a longer message.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from peersim.sweep.size import check_sweep_size, range_ends

    parsed = OverridesParser.create().parse_overrides(overrides)
    if multirun:  # counted, not expanded: a huge sweep or an empty range stops here
        check_sweep_size(parsed)
    base: list[str] = []
    sweeps: list[tuple[int, list[str]]] = []
    for raw, ov in zip(overrides, parsed, strict=True):
        if ov.is_sweep_override():
            if not multirun:
                raise ConfigError(f"{raw} is a sweep; add -m (--multirun) to run one job per value")
            key = ov.get_key_element()
            values = range_ends(ov) if ov.is_range_sweep() else [str(v) for v in ov.sweep_string_iterator()]
            sweeps.append((len(base), [f"{key}={v}" for v in values]))
            base.append(sweeps[-1][1][0])
        else:
            base.append(raw)
    return base, sweeps


def _is_hydra_override(override: str) -> bool:
    return override.lstrip("+~").startswith("hydra")


def _group_names(choices: dict, dirs: list[str]) -> set[str] | None:
    """Names a top-level override could select a config group by: the groups of the defaults
    list, folders of ``conf/`` and of the extra config folders, groups in Hydra's ConfigStore;
    None if that cannot be known (a ``pkg://`` search-path entry)."""
    from hydra.core.config_store import ConfigStore

    from peersim.config import conf_dir, search_dirs

    names = {str(k) for k in choices}
    folders = [conf_dir()]
    for entry in search_dirs(dirs):
        if not entry.startswith("file://"):
            return None
        folders.append(Path(entry.removeprefix("file://")))
    for folder in folders:
        if folder.is_dir():
            names.update(p.name for p in folder.iterdir() if p.is_dir())
    names.update(k for k, v in ConfigStore.instance().repo.items() if isinstance(v, dict))
    return names


def _is_value_sweep(pos: int, alternatives: list[str], base: list[str], cfg, groups: set[str] | None) -> bool:
    """Whether every value of the sweep at ``base[pos]`` can be checked by setting it on the
    config composed from ``base`` (:func:`peersim.config.apply_overrides`) instead of composing
    the command line again: a plain ``key=value`` override (no ``+``, ``~``, ``@package``) of a
    scalar value that exists in the composed config, to a scalar, not a config group, and no
    other override on the same key, a key inside it or a key around it. Hydra applies such
    overrides to the composed config in the same way, one after another, after composing the
    defaults list, so the result (and any error) is the same."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import OverrideType
    from omegaconf import Container, OmegaConf

    try:
        parsed = OverridesParser.create().parse_overrides(alternatives)
    except Exception:  # the override grammar: let the full composition say what is wrong
        return False
    key = parsed[0].key_or_group
    if any(ov.type != OverrideType.CHANGE or ov.package is not None or ov.key_or_group != key
           or isinstance(ov.value(), (dict, list)) for ov in parsed):
        return False
    if key.startswith("hydra") or "/" in key or "@" in key:
        return False
    if "." not in key and (groups is None or key in groups):
        return False
    for i, other in enumerate(base):
        if i == pos:
            continue
        k = other.lstrip("+~").split("=", 1)[0].split("@", 1)[0]
        if k == key or k.startswith(key + ".") or key.startswith(k + ".") or key.startswith(k + "/"):
            return False
    absent = object()
    node = OmegaConf.select(cfg, key, default=absent, throw_on_missing=False, throw_on_resolution_failure=False)
    return node is not absent and not isinstance(node, Container)


def precheck(argv: list[str]) -> None:
    """Compose and validate the command line (every sweep value); raise ConfigError with one line.

    The command line is composed once with every sweep at its first value. A further value of a
    sweep over a plain value (``seed=0,1,2``, ``volunteers.burnout_threshold=0.5,0.6``) is then
    set on that composed config and validated (:func:`_is_value_sweep`): the same check, in a
    few milliseconds instead of a composition. Sweeps over config groups (``scenario=a,b``),
    ``+``/``~`` overrides and anything else compose the whole command line for each value.
    """
    from omegaconf import open_dict

    from peersim.config import apply_overrides, can_apply_overrides, compose_config, explain, to_params

    from peersim.cli_errors import check_flags

    check_flags(argv, _VALUE_FLAGS)
    overrides = _overrides(argv)
    if overrides is None:
        return
    dirs = config_dirs(argv)
    multirun = any(a in ("-m", "--multirun") for a in argv)
    try:
        base, sweeps = _sweep_plan(overrides, multirun)
    except ConfigError:
        raise
    except Exception as exc:  # the override grammar
        line = explain(exc)
        raise ConfigError(line if line.startswith("cannot read") else f"cannot read the command line: {line}") from None
    launcher = [o for o in overrides if _is_launcher_override(o)]
    if launcher:
        from peersim.sweep import launcher_options

        for o in launcher:
            key, _, value = o.lstrip("+~").partition("=")
            if key == "hydra/launcher" and value not in (options := launcher_options()):
                raise ConfigError(f"hydra/launcher={value}: unknown launcher; choose one of: {', '.join(options)}")
    # the launcher's and the sweep folder's settings are checked once, with the first job
    model = [o for o in base if not _is_hydra_override(o)]
    name = _config_name(argv)
    cfg = compose_config(model + launcher, config_dirs=dirs, return_hydra_config=bool(sweeps), config_name=name)
    groups: set[str] | None = set()
    if "hydra" in cfg:
        groups = _group_names(dict(cfg.hydra.runtime.choices), dirs)
        with open_dict(cfg):
            del cfg["hydra"]
    params = to_params(cfg)
    if not multirun:
        _check_run_dir(overrides, params)
    for pos, alternatives in sweeps:
        if _is_hydra_override(base[pos]):
            continue  # not part of the model's configuration (the launcher's: checked above)
        if can_apply_overrides() and _is_value_sweep(pos, alternatives, base, cfg, groups):
            for alt in alternatives[1:]:
                apply_overrides(cfg, [alt])
                to_params(cfg)
            apply_overrides(cfg, [base[pos]])  # back to the first value, for the next sweep
            continue
        for alt in alternatives[1:]:
            candidate = [*base[:pos], alt, *base[pos + 1:]]
            model = [o for o in candidate if not _is_hydra_override(o)]
            to_params(compose_config(model, config_dirs=dirs, config_name=name))


def _check_run_dir(overrides: list[str], params) -> None:
    """A folder given with ``hydra.run.dir`` that holds another run's results stops the run here,
    before Hydra writes its ``.hydra/`` into it (:func:`peersim.folders.check_run_folder`); a
    folder named with an interpolation (``${now:...}``) is checked when the run starts."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from peersim.config import config_hash
    from peersim.folders import check_run_folder

    given = [o.lstrip("+~") for o in overrides if o.lstrip("+~").startswith("hydra.run.dir=")]
    if not given:
        return
    folder = str(OverridesParser.create().parse_override(given[-1]).value())
    if "${" in folder:
        return
    check_run_folder(Path(folder), config_hash(params) if params.experiment is None else None,
                     overwrite=params.output.overwrite)


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


def _is_launcher_override(override: str) -> bool:
    """``hydra/launcher=...``, ``hydra.launcher.*=...``, ``hydra.sweep.*=...``: composed in precheck
    (a typo fails with one line); other ``hydra*`` overrides are left to Hydra."""
    key = override.lstrip("+~").split("=", 1)[0]
    return key == "hydra/launcher" or key.startswith(("hydra.launcher.", "hydra.sweep."))


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

        end_with_command()  # in a joblib worker: end when the command is killed

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

    from peersim import config

    made = config.created_run_dir_parents.get(str(out.resolve()))
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
        f"  outputs: {out}"
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
    from peersim.config import experiment_override

    sys.argv[1:] = argv = [experiment_override(a) for a in sys.argv[1:]]
    precheck(argv)  # ConfigError: one line, exit code 2 (main)
    _export_config_dirs(argv)

    import hydra

    from peersim import config, sweep
    from peersim.config import conf_dir, register_schema

    # a single run claims its folder (two runs started in the same second get two folders); not
    # when a flag other than those that choose the config asks Hydra to print or to sweep instead
    config.claim_run_dirs = not any(
        (a.startswith("-") and a not in _RUN_FLAGS and not a.startswith(tuple(f + "=" for f in _RUN_FLAGS)))
        or a.startswith("hydra.mode=") for a in argv)
    config.forget_claimed_run_dirs()

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
