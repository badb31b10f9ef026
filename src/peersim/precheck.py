"""The command line checked before Hydra starts: bad input stops with one line, before any folder.

The command line is composed against the schema once for the first job; then each further value
of a sweep over a value is set on that composed config and validated, and each further option of
a sweep over a group is composed (:func:`precheck`). A ``hydra.run.dir`` that holds another run's
results is refused here, before Hydra writes its ``.hydra/`` into it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from peersim.validation import ConfigError

# Hydra flags that take a value, and flags that change what Hydra does (then we do not pre-check)
_VALUE_FLAGS = {"--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd",
                "--package", "-p", "--experimental-rerun"}
_CHECKED: dict[str, bool] = {"sweep": False}  # set when precheck has checked every value of a sweep


def checked_sweep() -> bool:
    """Whether :func:`precheck` has checked every value of this process's sweep (composed its
    first job and each option of a sweep over a group, set each value of a sweep over a value):
    peersim's sweeper then does not compose the batch again before launching it."""
    return _CHECKED["sweep"]


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


def export_config_dirs(argv: list[str]) -> None:
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

    from peersim.cli_errors import check_flags
    from peersim.config import apply_overrides, can_apply_overrides, compose_config, explain, to_params

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
        _check_run_dir(overrides, params,
                       lambda run_dir: _resolved_run_dir(model, run_dir, dirs, name))
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
    _CHECKED["sweep"] = multirun


def _resolved_run_dir(model: list[str], run_dir: str, dirs: list[str], name: str) -> str | None:
    """``hydra.run.dir`` with its interpolations resolved as Hydra will (``${seed}``,
    ``${now:...}``), or None if that cannot be known here (the run checks its folder again)."""
    from omegaconf import OmegaConf

    from peersim.config import compose_config

    try:
        cfg = compose_config([*model, run_dir], config_dirs=dirs, return_hydra_config=True, config_name=name)
        return str(OmegaConf.select(cfg, "hydra.run.dir", throw_on_resolution_failure=True))
    except Exception:  # noqa: BLE001 - any failure only means: check when the run starts
        return None


def _check_run_dir(overrides: list[str], params, resolve) -> None:
    """A folder given with ``hydra.run.dir`` that holds another run's results stops the run here,
    before Hydra writes its ``.hydra/`` into it (:func:`peersim.folders.check_run_folder`); a
    folder named with an interpolation (``runs/seed${seed}``) is resolved first by ``resolve``
    (None: it is checked when the run starts)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from peersim.config import config_hash
    from peersim.folders import check_run_folder

    given = [o.lstrip("+~") for o in overrides if o.lstrip("+~").startswith("hydra.run.dir=")]
    if not given:
        return
    folder = str(OverridesParser.create().parse_override(given[-1]).value())
    if "${" in folder:
        folder = resolve(given[-1])
        if folder is None:
            return
    check_run_folder(Path(folder), config_hash(params) if params.experiment is None else None,
                     overwrite=params.output.overwrite)


def _is_launcher_override(override: str) -> bool:
    """``hydra/launcher=...``, ``hydra.launcher.*=...``, ``hydra.sweep.*=...``: composed in precheck
    (a typo fails with one line); other ``hydra*`` overrides are left to Hydra."""
    key = override.lstrip("+~").split("=", 1)[0]
    return key == "hydra/launcher" or key.startswith(("hydra.launcher.", "hydra.sweep."))
