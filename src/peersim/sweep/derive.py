"""Each job's configuration composed once per shape of the sweep, derived for the other jobs.

Hydra composes a sweep job's configuration from scratch (the defaults list, every config file,
then the overrides: 0.2-0.5 s on the development machine, more than a 5-year run takes). Jobs of
a sweep over values (``seed=range(0,200)``, ``volunteers.burnout_threshold=0.5,0.6``) differ only
in values that Hydra sets on the composed configuration after composing it, one override after
another (``ConfigLoaderImpl._apply_overrides_to_config``). :class:`JobConfigs` therefore composes
the first job of each *shape* with Hydra (``load_sweep_config``, as every launcher does) and
derives every further job of that shape from a copy of it, by the same step Hydra applies the
overrides with, plus the two fields Hydra writes from the overrides themselves
(``hydra.overrides.task`` and ``hydra.job.override_dirname``). The result equals Hydra's own
composition (``tests/test_sweep_launcher.py`` compares them key by key).

A job's *shape* is its overrides with the value of every settable override left out. An override
is settable when it is a plain ``key=value`` (no ``+``, ``~``, ``@package``), its key is not
Hydra's and not a config group (``scenario=...`` composes other files), its value is a scalar,
no other override of the job names the same key, a key inside it or a key around it, and the key
exists in the composed configuration as a scalar. These are the rules the command line's check
uses too (:func:`peersim.precheck._is_value_sweep`). Anything else composes again.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from omegaconf import Container, DictConfig, OmegaConf, open_dict, read_write

_ABSENT = object()


def _parse(overrides: Sequence[str]) -> list[Any]:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create().parse_overrides(list(overrides))


def _key(ov: Any) -> str:
    return str(ov.key_or_group)


def settable_positions(parsed: Sequence[Any], groups: set[str]) -> set[int]:
    """Positions of the overrides whose value may be set on a composed configuration instead of
    composing it (before checking that the key is a scalar there; see the module's rules)."""
    from hydra.core.override_parser.types import OverrideType

    keys = [_key(ov) for ov in parsed]
    out = set()
    for i, ov in enumerate(parsed):
        key = keys[i]
        if (ov.type != OverrideType.CHANGE or ov.package is not None or ov.is_hydra_override()
                or key.startswith("hydra") or "/" in key or "@" in key
                or key in groups or key.replace(".", "/") in groups):
            continue
        try:
            value = ov.value()
        except Exception:  # noqa: BLE001 - a value the grammar cannot give: compose
            continue
        if isinstance(value, (dict, list)) or ov.is_sweep_override():
            continue
        if any(j != i and (k == key or k.startswith(key + ".") or key.startswith(k + ".") or key.startswith(k + "/"))
               for j, k in enumerate(keys)):
            continue
        out.add(i)
    return out


class JobConfigs:
    """The configurations of a sweep's jobs, for one job at a time: Hydra composes the first job
    of each shape, and each further job of that shape gets the same configuration objects with
    its own values set (see the module). ``keep``: how many shapes to keep composed (a sweep
    over groups has one shape per combination of options; the last used are kept)."""

    def __init__(self, config_loader: Any, master_config: DictConfig, keep: int = 16) -> None:
        self.config_loader = config_loader
        self.master = master_config
        self.groups = {str(k) for k in master_config.hydra.runtime.choices}
        self.keep = keep
        self._shapes: OrderedDict[tuple, tuple[DictConfig, DictConfig, list[int]]] = OrderedDict()
        self.composed = 0  # jobs composed by Hydra (the rest were derived)
        self.derived = 0

    def shape(self, parsed: Sequence[Any]) -> tuple[tuple, set[int]]:
        settable = settable_positions(parsed, self.groups)
        shape = tuple((_key(ov), None if i in settable else ov.input_line) for i, ov in enumerate(parsed))
        return shape, settable

    def compose(self, overrides: Sequence[str]) -> tuple[DictConfig, DictConfig]:
        """Hydra's own composition of one job (what its launchers do): the configuration, and
        the same without its ``hydra`` node."""
        self.composed += 1
        cfg = self.config_loader.load_sweep_config(self.master, list(overrides))
        return cfg, without_hydra(cfg)

    def job_config(self, overrides: Sequence[str]) -> tuple[DictConfig, DictConfig]:
        """The job's configuration as ``load_sweep_config`` composes it, and the same without
        ``hydra``. Valid until the next call: a further job of the same shape reuses the objects."""
        try:
            parsed = _parse(overrides)
        except Exception:  # noqa: BLE001 - Hydra's composition says what is wrong
            return self.compose(overrides)
        shape, settable = self.shape(parsed)
        known = self._shapes.get(shape)
        if known is None:
            cfg, task_cfg = self.compose(overrides)
            scalars = [i for i in sorted(settable) if _is_scalar(cfg, _key(parsed[i]))]
            if len(scalars) == len(settable):
                self._shapes[shape] = (cfg, task_cfg, scalars)
                while len(self._shapes) > self.keep:
                    self._shapes.popitem(last=False)
            return cfg, task_cfg
        self._shapes.move_to_end(shape)
        cfg, task_cfg, positions = known
        self._set(cfg, task_cfg, parsed, positions)
        return cfg, task_cfg

    def prepare(self, overrides: Sequence[str]) -> bool:
        """Compose the job's shape now if it is new (in the command, before the workers start:
        they inherit it); whether it was composed."""
        try:
            shape, _ = self.shape(_parse(overrides))
        except Exception:  # noqa: BLE001 - the job itself reports it
            return False
        if shape in self._shapes or len(self._shapes) >= self.keep:
            return False
        self.job_config(overrides)
        return True

    def _set(self, cfg: DictConfig, task_cfg: DictConfig, parsed: Sequence[Any], positions: Sequence[int]) -> None:
        """This job's values on the shape's configurations, and the fields Hydra derives from
        the overrides (``hydra.overrides.task``, ``hydra.job.override_dirname``)."""
        from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname

        values = [parsed[i] for i in positions]
        ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
        ConfigLoaderImpl._apply_overrides_to_config(values, task_cfg)
        app = [ov for ov in parsed if not ov.is_hydra_override()]
        dirname = cfg.hydra.job.config.override_dirname
        with read_write(cfg.hydra), open_dict(cfg.hydra):
            cfg.hydra.overrides.task = [ov.input_line for ov in app]
            cfg.hydra.job.override_dirname = get_overrides_dirname(
                overrides=app, kv_sep=dirname.kv_sep, item_sep=dirname.item_sep, exclude_keys=dirname.exclude_keys)
        self.derived += 1


def without_hydra(cfg: DictConfig) -> DictConfig:
    """A copy of ``cfg`` without its ``hydra`` node (what Hydra hands the task function)."""
    task_cfg = copy.deepcopy(cfg)
    with read_write(task_cfg), open_dict(task_cfg):
        del task_cfg["hydra"]
    return task_cfg


def _is_scalar(cfg: DictConfig, key: str) -> bool:
    node = OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=False, throw_on_resolution_failure=False)
    return node is not _ABSENT and not isinstance(node, Container)


def first_of_each_shape(batch: Sequence[Sequence[str]], master_config: DictConfig) -> list[list[str]]:
    """One job per shape of a batch (the first), for checking a batch by composing each shape
    once: the other jobs differ from it only in values set after composing."""
    groups = {str(k) for k in master_config.hydra.runtime.choices}
    seen: set[tuple] = set()
    out = []
    for overrides in batch:
        try:
            parsed = _parse(overrides)
        except Exception:  # noqa: BLE001 - composing it reports the error
            out.append(list(overrides))
            continue
        settable = settable_positions(parsed, groups)
        shape = tuple((_key(ov), None if i in settable else ov.input_line) for i, ov in enumerate(parsed))
        if shape not in seen:
            seen.add(shape)
            out.append(list(overrides))
    return out
