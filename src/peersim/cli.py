"""The ``peersim`` command: a Hydra app around :func:`peersim.simulate.run`.

    peersim                                        # own local coordinator, Fredericia, 5 years
    peersim scenario=partnership municipality=fredericia seed=7
    peersim -m scenario=local_coordinator,partnership seed=1,2,3

Before Hydra starts, the command line is composed once against the schema so that bad input
stops with one line naming the key and what is allowed (exit code 2), before any output folder
is created.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from peersim.params import ConfigError

# Hydra flags that take a value, and flags that change what Hydra does (then we do not pre-check)
_VALUE_FLAGS = {"--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd",
                "--package", "-p", "--experimental-rerun"}
_SPECIAL_FLAGS = {"--help", "-h", "--hydra-help", "--version", "--cfg", "-c", "--info", "-i",
                  "--shell-completion", "-sc", "--resolve", "--config-path", "-cp",
                  "--config-name", "-cn", "--experimental-rerun"}


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


def _candidate_sets(overrides: list[str], multirun: bool) -> list[list[str]]:
    """Override lists that together cover every value of every sweep.

    A choice sweep (``a,b,c`` or ``choice(...)``) is checked value by value; a numeric
    ``range(...)`` by its first and last value (its values are all of one type and in between).
    Without ``-m`` a sweep is an error: Hydra would reject it with a longer message.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    base: list[str] = []
    sweeps: list[tuple[int, list[str]]] = []
    for raw, ov in zip(overrides, parsed, strict=True):
        if ov.is_sweep_override():
            if not multirun:
                raise ConfigError(f"{raw} is a sweep; add -m (--multirun) to run one job per value")
            key = ov.get_key_element()
            values = [str(v) for v in ov.sweep_string_iterator()]
            if ov.is_range_sweep() and len(values) > 2:
                values = [values[0], values[-1]]
            sweeps.append((len(base), [f"{key}={v}" for v in values]))
            base.append(sweeps[-1][1][0])
        else:
            base.append(raw)
    sets = [base]
    for pos, alternatives in sweeps:
        for alt in alternatives[1:]:
            sets.append([*base[:pos], alt, *base[pos + 1:]])
    return sets


def precheck(argv: list[str]) -> None:
    """Compose and validate the command line (every sweep value); raise ConfigError with one line."""
    from peersim.config import compose_config, explain, to_params

    overrides = _overrides(argv)
    if overrides is None:
        return
    multirun = any(a in ("-m", "--multirun") for a in argv)
    try:
        candidate_sets = _candidate_sets(overrides, multirun)
    except ConfigError:
        raise
    except Exception as exc:  # the override grammar
        raise ConfigError(f"cannot read the command line: {explain(exc)}") from None
    for candidate in candidate_sets:
        to_params(compose_config([o for o in candidate if not o.lstrip("+~").startswith("hydra")]))


def _quiet_libraries() -> None:
    """Hydra logs at INFO; Mesa logs every step and matplotlib its font cache at that level."""
    import logging

    for name in ("MESA", "matplotlib"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _task(cfg) -> None:
    from hydra.core.hydra_config import HydraConfig

    from peersim.config import to_params
    from peersim.simulate import run

    try:
        params = to_params(cfg)
    except ConfigError as exc:
        print(f"peersim: error: {exc}", file=sys.stderr)
        sys.exit(2)
    _quiet_libraries()
    out = Path(HydraConfig.get().runtime.output_dir)
    t0 = time.perf_counter()
    if params.experiment is not None:
        from peersim.experiments import base_overrides, find

        overrides = base_overrides(list(HydraConfig.get().overrides.task))
        find(params).run(params, overrides, out)
        print(f"peersim {type(params.experiment).__name__}: done in {time.perf_counter() - t0:.1f} s; outputs: {out}")
        return
    result = run(params)
    result.write(out)
    s = result.summary
    print(
        f"peersim {s['scenario']} | {s['municipality']} | seed {s['seed']} | {s['years']} years "
        f"({time.perf_counter() - t0:.2f} s)\n"
        f"  courses started {s['courses_started']} ({s['courses_per_year']:.1f}/yr), "
        f"citizens referred {s['citizens_referred']}, started {s['citizens_started']}, "
        f"completed {s['citizens_completed']}, gave up waiting {s['citizens_gave_up_waiting']}\n"
        f"  volunteers recruited {s['volunteers_recruited']}, active at end {s['volunteers_active_end']}, "
        f"burnouts {s['volunteer_burnouts']}; attributable successes {s['successes']}\n"
        f"  outputs: {out}"
    )


def main() -> None:
    argv = sys.argv[1:]
    try:
        precheck(argv)
    except ConfigError as exc:
        print(f"peersim: error: {exc}", file=sys.stderr)
        sys.exit(2)

    import hydra

    from peersim.config import conf_dir, register_schema

    register_schema()
    app = hydra.main(version_base=None, config_path=str(conf_dir()), config_name="config")(_task)
    app()


if __name__ == "__main__":
    main()
