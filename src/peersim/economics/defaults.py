"""Load the economics defaults from ``conf/economics/default.yaml`` (the edge: OmegaConf lives here only)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from peersim.economics.params import EconomicsParams


def default_yaml_path() -> Path:
    """``conf/economics/default.yaml``: shipped inside the wheel, or the repository's top-level one."""
    here = Path(__file__).resolve().parent
    for root in (here.parent / "conf", here.parents[2] / "conf"):
        candidate = root / "economics" / "default.yaml"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"cannot find conf/economics/default.yaml (looked next to {here.parent} and {here.parents[2]})")


def option_names() -> list[str]:
    """The named settings in ``conf/economics/`` (``default`` first), as ``economics=<name>`` picks them."""
    names = sorted(p.stem for p in default_yaml_path().parent.glob("*.yaml") if p.stem != "default")
    return ["default", *names]


def load_default_params(overrides: Mapping[str, Any] | None = None, option: str = "default") -> EconomicsParams:
    """The validated defaults, with optional overrides by dotted key, e.g. ``{"contract.cap_factor": 1.5}``.

    ``option`` names a setting in ``conf/economics/`` as ``economics=<option>`` does on the command
    line, e.g. ``"socialstyrelsen_2018"`` (the default with 4% flat discounting) or
    ``"no_health_savings"``. Unknown keys and wrong types raise ``ValueError`` with one line naming the key.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    layers = [OmegaConf.load(default_yaml_path())]
    if option != "default":
        if option not in option_names():
            raise ValueError(f"economics={option!r} is not known; choose one of: {', '.join(option_names())}")
        layer = OmegaConf.load(default_yaml_path().with_name(f"{option}.yaml"))
        layer.pop("defaults", None)  # each option's defaults list is [default, _self_]: default is layers[0]
        layers.append(layer)
    patch = OmegaConf.create()
    for key, value in (overrides or {}).items():
        OmegaConf.update(patch, key, value, force_add=True)
    try:
        merged = OmegaConf.merge(OmegaConf.structured(EconomicsParams), *layers, patch)
        params = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "?"
        reason = str(exc).splitlines()[0]
        raise ValueError(f"economics.{key}: {reason}") from None
    assert isinstance(params, EconomicsParams)
    return params.validate()
