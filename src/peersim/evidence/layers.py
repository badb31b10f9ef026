"""Which files of ``conf/`` write values, and which option of its group each one is.

A run composes ``conf/config.yaml`` with one option file of each group (``conf/<group>/<option>.yaml``),
a group's shared part (``conf/<group>/_common.yaml``) and whatever an option builds on through its
own defaults list. The register reads each of these files once (:func:`conf_layers`) and
composes the configuration with the option selected that makes the file's value the one a run sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from peersim.evidence.scope import EXCLUDED_GROUPS


@dataclass
class Layer:
    """A conf file that writes values: the root, a group option or a group's shared part."""

    path: Path
    group: str = ""   # "" = conf/config.yaml
    option: str = ""  # "" = a shared part (``_common.yaml``) or the root

    @property
    def shared(self) -> bool:
        return bool(self.group) and not self.option


def conf_layers(conf: Path) -> list[Layer]:
    """The root, then every option and shared part of the groups the register covers, by name."""
    layers = [Layer(conf / "config.yaml")]
    for folder in sorted(p for p in conf.iterdir() if p.is_dir()):
        if folder.name in EXCLUDED_GROUPS or folder.name.startswith((".", "_")):
            continue
        for path in sorted(folder.glob("*.yaml")):
            shared = path.stem.startswith("_")
            layers.append(Layer(path, folder.name, "" if shared else path.stem))
    return layers


def option_includes(path: Path) -> list[str]:
    """Options of the same group that an option file builds on (plain names in its defaults list)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [item for item in data.get("defaults", []) if isinstance(item, str) and item != "_self_"
            and not item.startswith(("/", "_"))]


def default_options(conf: Path) -> dict[str, str]:
    """Group -> option selected by conf/config.yaml's defaults list."""
    root = yaml.safe_load((conf / "config.yaml").read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for item in root.get("defaults", []):
        if isinstance(item, dict):
            for k, v in item.items():
                out[str(k).split("@")[0].removeprefix("override ").strip()] = str(v)
    return out
