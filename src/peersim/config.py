"""Hydra at the edge: find ``conf/``, compose it against the schema, turn it into parameters.

Nothing else in peersim imports Hydra or OmegaConf. Errors from composition (a typo in a key, a
wrong type, an unknown option) are condensed here into one line that names the key and what is
allowed, as :class:`~peersim.params.ConfigError`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from peersim import municipality_names as names
from peersim import run_dirs
from peersim.params import MunicipalityParams, PeersimConfig, validate
from peersim.refusals import folder_list, override_list
from peersim.validation import ConfigError, unknown_key_message

SCHEMA_NAME = "peersim_schema"
EXPERIMENT_SCHEMA_GROUP = "experiment_schema"  # ConfigStore group of the experiments' schemas (peersim.experiments)
# hydra.run.dir's resolvers (a run's folder name, and claiming it): resolved wherever Hydra resolves
# hydra.run.dir, so they are registered whenever this module is imported (the peersim command does first)
run_dirs.register_resolvers()


def conf_dir() -> Path:
    """The ``conf/`` folder: shipped inside the wheel, or the repository's top-level one."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "conf", here.parents[1] / "conf"):
        if (candidate / "config.yaml").is_file():
            return candidate
    raise FileNotFoundError(
        f"peersim cannot find its conf/ folder (looked in {here / 'conf'} and {here.parents[1] / 'conf'})"
    )


def register_schema() -> None:
    """Store the run's schema in Hydra's ConfigStore, and the municipalities without a preset as
    options of the ``municipality`` group (:mod:`peersim.municipality_names`). The experiments'
    schemas are stored there by :mod:`peersim.experiments` when it is imported."""
    store = ConfigStore.instance()
    store.store(name=SCHEMA_NAME, node=PeersimConfig)
    presets = _preset_names()
    if "aabenraa.yaml" in store.repo.get("municipality", {}):  # registered already (one of the 98)
        return
    common = _common_values()
    for option in names.all_options(presets):
        if option not in presets:
            store.store(group="municipality", name=option, node=names.option_node(option, common),
                        package="municipality")


def municipality_options() -> list[str]:
    """Every option of the ``municipality`` group: the presets and the other municipalities of the 98."""
    return names.all_options(_preset_names())


def _preset_names() -> list[str]:
    """The municipality presets (``conf/municipality/*.yaml``), calibrated or stated one by one."""
    folder = conf_dir() / "municipality"
    return sorted(p.stem for p in folder.glob("*.yaml") if not p.stem.startswith("_"))


def _common_values() -> dict[str, Any]:
    """``conf/municipality/_common.yaml``: what every municipality without own values assumes."""
    return OmegaConf.to_container(OmegaConf.load(conf_dir() / "municipality" / "_common.yaml"))


def municipality_option(name: str, key: str = "municipality") -> str:
    """The option of the ``municipality`` group that ``name`` (any spelling of one of the 98, or a
    preset) selects; an unknown name raises :class:`ConfigError` naming ``key`` and the nearest names."""
    return names.option_name(name, _preset_names(), key=key)


def normalise_override(override: str) -> str:
    """An override as Hydra will read it: ``+experiment=`` as ``experiment=``
    (:func:`experiment_override`) and municipality names of any spelling as options
    (``municipality=Høje-Taastrup`` -> ``hoeje_taastrup``; ``extra_municipalities=[vejle]`` -> its config)."""
    return names.normalise_override(experiment_override(override), _preset_names(), _municipality_literal)


def _municipality_literal(option: str) -> str:
    return names.hydra_mapping(dataclasses.asdict(municipality_preset(option, key="extra_municipalities")))


def experiment_schemas() -> dict[str, type]:
    """The experiments' schema classes by name, as registered in Hydra's ConfigStore (empty until
    :mod:`peersim.experiments` is imported)."""
    group = ConfigStore.instance().repo.get(EXPERIMENT_SCHEMA_GROUP, {})
    out = {}
    for file_name, node in group.items():
        schema = OmegaConf.get_type(node.node)
        if isinstance(schema, type):
            out[file_name.removesuffix(".yaml")] = schema
    return out


def group_options(group: str) -> list[str]:
    """The option files of a config group (files starting with ``_`` are shared parts); the
    ``municipality`` group also has every other municipality (:func:`municipality_options`)."""
    folder = conf_dir() / group
    return sorted(p.stem for p in folder.glob("*.yaml") if not p.stem.startswith("_"))


def _schema_fields(key: str) -> list[str] | None:
    """Field names of the dataclass at a dotted key of the schema, or None."""
    node: Any = PeersimConfig
    parts = [p for p in key.split(".") if p]
    if parts[:1] == ["experiment"]:  # typed by the selected experiment's own schema
        names = set()
        for schema in experiment_schemas().values():
            names.update(f.name for f in dataclasses.fields(schema))
        return sorted(names) if len(parts) == 1 else None
    for part in parts:
        if not dataclasses.is_dataclass(node):
            return None
        types = {f.name: f.type for f in dataclasses.fields(node)}
        if part not in types:
            return None
        hint = types[part]
        node = _resolve_type(hint)
    if dataclasses.is_dataclass(node):
        return [f.name for f in dataclasses.fields(node)]
    return None


def _experiment_named(schema_name: str) -> tuple[str, type] | None:
    """The name and schema of the experiment whose schema class is called ``schema_name`` (as
    OmegaConf names it), or None."""
    return next(((n, s) for n, s in experiment_schemas().items() if s.__name__ == schema_name), None)


def _resolve_type(hint: Any) -> Any:
    import peersim.params as p

    if isinstance(hint, str):
        return getattr(p, hint, None)
    return hint


MOVED_KEYS = {  # keys that were replaced: what to write instead
    "experiment.charts": "output.charts (the one switch for the charts of runs, experiments and sweeps)",
}


def _override_parse_error(exc: OverrideParseException) -> str:
    """One line for an override Hydra's grammar cannot read: what to write instead."""
    text = str(exc.override)
    if "=" not in text.lstrip("+~"):
        return f"cannot read '{text}': an override is key=value, e.g. seed=7 (or +key=value, ~key)"
    key, _, value = text.partition("=")
    if not text.isascii() or re.search(r"[\s()\[\]{}'\"\\,:$]", value):
        return (f"cannot read '{text}': quote a value with non-ASCII letters, spaces or special characters, "
                f"e.g. \"{key}='{value}'\" (the outer quotes are for the shell)")
    detail = next((line.strip() for line in str(exc).splitlines()[1:2]), "")
    return f"cannot read '{text}'{': ' + detail if detail else ''}; see docs/sweeps.md for the override grammar"


def _yaml_error(exc: BaseException) -> str | None:
    """One line for a YAML file that cannot be read (its path, line and problem), or None."""
    import yaml

    while exc is not None and not isinstance(exc, yaml.YAMLError):
        exc = exc.__cause__ or exc.__context__
    if exc is None:
        return None
    mark = getattr(exc, "problem_mark", None)
    where = f"{mark.name}, line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "a YAML file"
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"cannot read {where}: {problem}; fix the YAML there (a missing ']', '}}' or quote, or a stray ':')"


def explain(exc: BaseException) -> str:
    """One line that names the key and what is allowed, from a Hydra/OmegaConf error."""
    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, OverrideParseException):
        return _override_parse_error(exc)
    yaml_line = _yaml_error(exc)
    if yaml_line:
        return yaml_line
    m = re.search(r"missing \d+ required positional arguments?: '(\w+)'", str(exc))
    if m:  # ~key removed a key every run needs
        return f"{m.group(1)} is required: it cannot be removed (~{m.group(1)}); give it a value instead"
    m = re.search(rf"Could not (?:find|load) '/?{EXPERIMENT_SCHEMA_GROUP}/([^']+)'", str(exc))
    if m:
        return (f"experiment={m.group(1)}: the experiments are not loaded; compose with peersim.load_config "
                "(it loads them) or import peersim.experiments first")
    if isinstance(exc, MissingConfigException) or "Could not find" in str(exc):
        text = str(exc)
        m = re.search(r"Could not find '([\w/]+)/([^']*)'", text)
        if m:
            group, option = m.group(1), m.group(2)
            if group == "calibrated":  # fits written by experiment=calibrate live in its run folder
                return (f"calibrated={option}: no calibrated/{option}.yaml in conf/ or the extra config folders; "
                        "give the calibration run folder with --config-dir <folder> (Python: config_dirs=[folder])")
            opts = group_options(group) if (conf_dir() / group).is_dir() else []
            allowed = ", ".join(opts) if opts else "(see conf/)"
            return f"{group}={option}: unknown option; choose one of: {allowed}"
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, OmegaConfBaseException):
        key = getattr(cause, "full_key", None) or ""
        msg = str(getattr(cause, "msg", "") or str(cause)).splitlines()[0]
        m = re.search(r"Key '([^']+)' not in '(\w+)'", msg) or re.search(
            r"Key '([^']+)' is not in struct", msg
        )
        mapping = re.search(r"Key '([^']+)' is not in struct", msg)
        if mapping and key.startswith("experiment.") and key.endswith("." + mapping.group(1)):
            # a new entry in a mapping of an experiment (e.g. experiment.bounds): Hydra adds keys with '+'
            where = key[: -len(mapping.group(1)) - 1]
            return (f"unknown key '{key}': to add an entry to {where}, start the override with '+', "
                    f"e.g. +{where}={{{mapping.group(1)}:...}}")
        if m and key in MOVED_KEYS:
            return f"unknown key '{key}': use {MOVED_KEYS[key]}"
        if m:
            parent = key.rsplit(".", 1)[0] if "." in key else ""
            fields = _schema_fields(parent) or []
            where = parent or "the top level"
            own = _experiment_named(m.group(2)) if parent == "experiment" and m.lastindex == 2 else None
            if own is not None:  # the chosen experiment's own options, not every experiment's
                fields = [f.name for f in dataclasses.fields(own[1])]
                where = f"experiment (experiment={own[0]})"
            if key.rsplit(".", 1)[-1] in fields:  # a schema key the composed config lacks: not peersim's config
                return (f"'{key}' is not in the configuration: it does not build on conf/config.yaml; start it "
                        "with 'defaults: [config, _self_]' or drop --config-name")
            return unknown_key_message(key, fields, where)
        m = re.search(r"Value '(.*)' of type '(\w+)' could not be converted to (\w+)", msg)
        if m:
            return f"{key}: expected {m.group(3).lower()}, got '{m.group(1)}'"
        if "is not a ListConfig" in msg:
            return f"{key} takes a list in brackets, e.g. {key}=[a,b] (quoted in the shell: '{key}=[a,b]')"
        if "Missing mandatory value" in msg:
            return f"{key}: no value set (it must be set by the scenario or on the command line)"
        return f"{key}: {msg}" if key else msg
    first = str(exc).strip().splitlines()
    return first[0] if first else type(exc).__name__


def to_params(cfg: DictConfig) -> PeersimConfig:
    """Convert a composed config (without its ``hydra`` node) into validated parameters."""
    known = [f.name for f in dataclasses.fields(PeersimConfig)]  # in the schema's order, as elsewhere
    unknown = [k for k in cfg.keys() if k not in known and k != "hydra"]
    if unknown:  # `+key=value` adds keys even to a typed config; the dataclass would drop them
        raise ConfigError(unknown_key_message(str(unknown[0]), known))
    try:
        if "hydra" in cfg:
            cfg = cfg.copy()
            with open_dict(cfg):
                del cfg["hydra"]
        obj = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as exc:
        raise ConfigError(explain(exc)) from None
    if not isinstance(obj, PeersimConfig):  # a --config-name of a config that does not build on conf/config.yaml
        raise ConfigError("the configuration is not a peersim configuration (it does not build on conf/config.yaml); "
                          "start it with 'defaults: [config, _self_]' or drop --config-name")
    resolve_shared_with(obj)
    return validate(obj)


def municipality_preset(name: str, *, key: str = "municipality_preset") -> MunicipalityParams:
    """A municipality by any spelling of its name: a preset from ``conf/municipality/<name>.yaml``
    (with the shared ``_common`` values), or one of the 98 with the ``_common`` values and its own
    population; e.g. for ``params.extra_municipalities`` in Python; ``key`` names the caller in an error."""
    presets = _preset_names()
    if not isinstance(name, str):
        raise ConfigError(f"{key}: a municipality is named by a string, got {name!r}")
    option = names.option_name(name, presets, key=key)
    folder = conf_dir() / "municipality"
    own = (names.option_node(option, {}) if option not in presets else
           {k: v for k, v in OmegaConf.to_container(OmegaConf.load(folder / f"{option}.yaml")).items()
            if k != "defaults"})
    node = OmegaConf.merge(OmegaConf.structured(MunicipalityParams), OmegaConf.load(folder / "_common.yaml"), own)
    return OmegaConf.to_object(node)


def resolve_shared_with(params: PeersimConfig) -> PeersimConfig:
    """Move the presets named in ``shared_with`` into ``extra_municipalities``, under the main
    municipality's coordinator, and empty ``shared_with`` (the resolved config is unambiguous).
    Done when composing, and by ``run()`` for ``shared_with`` set in Python."""
    if any(isinstance(m, str) for m in params.extra_municipalities):  # names, set in Python
        params.extra_municipalities = [municipality_preset(m, key="extra_municipalities") if isinstance(m, str) else m
                                       for m in params.extra_municipalities]
    if params.shared_with:
        if not isinstance(params.shared_with, list | tuple) or isinstance(params.shared_with, str):
            raise ConfigError(f"shared_with must be a list of municipality presets, got {params.shared_with!r}")
        params.extra_municipalities = [*params.extra_municipalities, *_neighbours(params)]
        params.shared_with = []
    return params


def _neighbours(params: PeersimConfig) -> list[MunicipalityParams]:
    """Municipalities listed in ``shared_with`` share the main municipality's coordinator."""
    out = []
    for name in params.shared_with:
        m = municipality_preset(name, key="shared_with")
        m.coordinator_group = params.municipality.coordinator_group
        out.append(m)
    return out


CONFIG_DIRS_ENV = "PEERSIM_CONFIG_DIRS"


def search_dirs(config_dirs: Sequence[str | Path] = ()) -> list[str]:
    """Extra config folders searched after ``conf/`` (e.g. a calibration run folder holding
    ``calibrated/<name>.yaml``): ``config_dirs`` and then the folders in ``$PEERSIM_CONFIG_DIRS``
    (``os.pathsep``-separated; the ``peersim`` command sets it from ``--config-dir``), as Hydra
    search-path entries (``file://<absolute path>``; ``pkg://`` entries are kept as they are)."""
    import os

    env = [d for d in os.environ.get(CONFIG_DIRS_ENV, "").split(os.pathsep) if d]
    out: list[str] = []
    for d in [*map(str, config_dirs), *env]:
        entry = d if d.startswith("pkg://") else "file://" + str(Path(d.removeprefix("file://")).resolve())
        if entry not in out:
            out.append(entry)
    return out


def experiment_override(override: str) -> str:
    """``+experiment=<name>`` as ``experiment=<name>``. The ``experiment`` group stands in the
    defaults list (as ``null``), so ``experiment=<name>`` selects one; Hydra would refuse the
    ``+`` form (the group is there already), which peersim's documentation long used: both work."""
    return override[1:] if override.startswith("+experiment=") else override


def check_config_dirs(entries: Sequence[str], config_name: str = "config") -> None:
    """Refuse, with one line, an extra config folder that does not exist, and one holding a
    ``<config_name>.yaml`` that peersim's own ``conf/`` would hide (Hydra searches ``conf/`` first,
    so such a file was silently ignored)."""
    for entry in entries:
        if not entry.startswith("file://"):
            continue
        folder = Path(entry.removeprefix("file://"))
        if not folder.is_dir():
            raise ConfigError(f"config folder {folder} does not exist; give a folder that holds calibrated/<name>.yaml "
                              "(--config-dir <folder>; Python: config_dirs=[folder])")
        if (folder / f"{config_name}.yaml").is_file() and (conf_dir() / f"{config_name}.yaml").is_file():
            raise ConfigError(
                f"{folder / (config_name + '.yaml')} would be ignored: peersim's own conf/{config_name}.yaml comes "
                f"first; rename it and select it with --config-name <name> (starting it with 'defaults: [config, "
                "_self_]'), or give its values as overrides")


def compose_config(overrides: Sequence[str] = (), *, return_hydra_config: bool = False,
                   config_dirs: Sequence[str | Path] = (), config_name: str = "config") -> DictConfig:
    """Compose ``conf/`` with Hydra-style overrides, e.g. ``["scenario=partnership", "seed=7"]``;
    ``config_dirs`` (and ``$PEERSIM_CONFIG_DIRS``) are searched too, e.g. for ``+calibrated=<name>``;
    ``config_name``: the primary config (``--config-name``), by default ``conf/config.yaml``."""
    register_schema()
    overrides = [normalise_override(o) for o in overrides]
    for o in overrides:
        if "=" in o and not o.lstrip("+~").split("=", 1)[0]:
            raise ConfigError(f"'{o}': an override needs a key, e.g. seed=7")
    gh = GlobalHydra.instance()
    if gh.is_initialized():
        gh.clear()
    extra = search_dirs(config_dirs)
    check_config_dirs(extra, config_name)
    primary = conf_dir()
    if not (primary / f"{config_name}.yaml").is_file():  # --config-name of a config in an extra folder
        found = [Path(e.removeprefix("file://")) for e in extra if e.startswith("file://")]
        found = [f for f in found if (f / f"{config_name}.yaml").is_file()]
        if not found:
            raise ConfigError(f"--config-name {config_name}: no {config_name}.yaml in conf/ or the extra config "
                              "folders; give its folder with --config-dir <folder>")
        primary, extra = found[0], ["file://" + str(conf_dir()), *extra]
    if extra:
        quoted = ",".join("'" + e.replace("\\", "\\\\").replace("'", "\\'") + "'" for e in extra)
        overrides = [*overrides, f"hydra.searchpath=[{quoted}]"]
    # a shared part (conf/<group>/_*.yaml) is not an option of its own
    shared_part = _group_value_error([o for o in overrides if o.partition("=")[2].startswith("_")])
    if shared_part:
        raise ConfigError(shared_part)
    try:
        with initialize_config_dir(config_dir=str(primary), version_base=None):
            return compose(
                config_name, overrides=list(overrides), return_hydra_config=return_hydra_config
            )
    except Exception as exc:
        raise _as_config_error(exc, overrides) or exc from None


def _as_config_error(exc: Exception, overrides: Sequence[str]) -> ConfigError | None:
    """The one-line error for an error Hydra or OmegaConf raised on the command line (an unknown
    option, a wrong type, the override grammar), or None if it is not one (a bug: re-raised)."""
    if _yaml_error(exc):
        return ConfigError(_yaml_error(exc))
    if isinstance(exc, ConfigCompositionException | MissingConfigException | OmegaConfBaseException) or (
            type(exc).__module__.startswith(("hydra", "omegaconf"))):
        return ConfigError(explain(exc))
    if isinstance(exc, ValueError) and _raised_in_library(exc):
        # e.g. ``volunteers=3``: a config group given a number (Hydra raises a bare ValueError)
        return ConfigError(_group_value_error(overrides) or explain(exc))
    return None


def _raised_in_library(exc: BaseException) -> bool:
    """Whether ``exc`` was raised inside Hydra or OmegaConf (not in peersim's own code)."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is not None and any(f"{os.sep}{lib}{os.sep}" in last for lib in ("hydra", "omegaconf"))


def _group_value_error(overrides: Sequence[str]) -> str | None:
    """The one line for an override that gives a config group a value that is not one of its
    options (``volunteers=3``), or None if there is none."""
    for o in overrides:
        key, sep, value = o.lstrip("+~").partition("=")
        key = key.split("@", 1)[0]
        if not sep or key.startswith("hydra") or not (conf_dir() / key).is_dir():
            continue
        opts = group_options(key)
        if value not in opts:
            return f"{key}={value}: unknown option; choose one of: {', '.join(opts) or '(see conf/)'}"
    return None


def can_apply_overrides() -> bool:
    """Whether :func:`apply_overrides` can use Hydra's own step (Hydra 1.3's config loader)."""
    try:
        from hydra._internal.config_loader_impl import ConfigLoaderImpl
    except ImportError:
        return False
    return callable(getattr(ConfigLoaderImpl, "_apply_overrides_to_config", None))


def apply_overrides(cfg: DictConfig, overrides: Sequence[str]) -> None:
    """Apply value overrides (``key=value``) to a composed config, in place, with Hydra's own
    parser and the step Hydra itself applies them with after composing the defaults list; an
    error is the same one line :func:`compose_config` gives. For config groups, ``+``/``~`` and
    the like compose again (the ``peersim`` command's pre-check uses this for sweeps over values)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        parsed = OverridesParser.create().parse_overrides(list(overrides))
        ConfigLoaderImpl._apply_overrides_to_config(parsed, cfg)
    except Exception as exc:
        raise _as_config_error(exc, overrides) or exc from None


def load_config(overrides: Sequence[str] = (), *, config_dirs: Sequence[str | Path] = ()) -> PeersimConfig:
    """Compose and validate: the Python API's way to build a run's parameters
    (``config_dirs``: extra config folders, e.g. a calibration run folder for ``+calibrated=fit``).
    Arguments of the wrong kind (a string instead of a list, ``[7]``) are refused with one line."""
    overrides = override_list(overrides, "load_config")
    config_dirs = folder_list(config_dirs, "load_config")
    return to_params(compose_config(overrides, config_dirs=config_dirs))


def as_dict(params: PeersimConfig) -> dict[str, Any]:
    return dataclasses.asdict(params)


def config_hash(params: PeersimConfig) -> str:
    """A short stable hash of the resolved parameters (identifies a configuration in outputs).
    ``output.overwrite`` says what to do with a folder, not what a run is: it is left out."""
    data = as_dict(params)
    data.get("output", {}).pop("overwrite", None)
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
