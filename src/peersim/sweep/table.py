"""The table of a sweep: one row per job, gathered from the job folders alone.

:func:`gather` reads every job folder under a sweep folder (and, from the sweep's
``multirun.yaml``, the jobs of the last sweep that never got one) into one table: ``job_num``,
``job_dir``, ``status``, ``error``, ``skipped``, the job's overrides as typed columns and every
key of its ``summary.json`` (see :mod:`peersim.sweep`); an experiment's job adds its headline
figures (:func:`experiment_headline`: for ``compare_implementations`` each arm's means from
``comparison_summary.json``, as ``<arm>_<figure>`` columns). :func:`write_table` writes it as
``sweep_summary.csv``/``.parquet`` in the formats of the sweep's ``output`` settings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peersim.io import CSV_LOCALES, TableFormats, TableSettings, write_tables
from peersim.sweep.jobs import ERROR, SKIPPED, SUBDIR_RESOLVER, SUMMARY, job_subdir

if TYPE_CHECKING:
    import pandas as pd

TABLE = "sweep_summary"         # .csv and .parquet at the sweep's root


def job_dirs(sweep_dir: Path) -> list[Path]:
    """Every job folder under ``sweep_dir``: those holding Hydra's ``.hydra/overrides.yaml``."""
    found = []
    for root, dirs, _files in os.walk(sweep_dir):
        here = Path(root)
        if ".hydra" in dirs and (here / ".hydra" / "overrides.yaml").is_file() and here != sweep_dir:
            found.append(here)
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # .hydra, .submitit
    return sorted(found)


def _yaml(path: Path) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


def typed_overrides(overrides: Sequence[str]) -> dict[str, Any]:
    """``["seed=3", "volunteers.burnout_threshold=0.6", "scenario=partnership"]`` ->
    ``{"seed": 3, "volunteers.burnout_threshold": 0.6, "scenario": "partnership"}`` (Hydra's
    own grammar: ``1`` an int, ``0.5`` a float, ``true`` a bool, ``[a,b]`` kept as text)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    out: dict[str, Any] = {}
    parser = OverridesParser.create()
    for raw in overrides:
        try:
            ov = parser.parse_override(raw)
        except Exception:
            key, _, value = raw.partition("=")
            out[key.lstrip("+~")] = value
            continue
        if ov.is_delete():
            continue
        value = ov.value()
        if not isinstance(value, (bool, int, float, str)) and value is not None:
            value = ov.get_value_element_as_str()
        out[ov.key_or_group] = value
    return out


# The headline figures of a compare_implementations job, per arm: (path in the arm's entry of
# comparison_summary.json, column suffix). A figure the file does not hold is left out.
COMPARE_FILE = "comparison_summary.json"
COMPARE_HEADLINE = (
    (("citizens_started", "mean"), "citizens_started"),
    (("successes", "mean"), "successes"),
    (("mean_wait_weeks", "mean"), "mean_wait_weeks"),
    (("net_municipal_budget_dkk", "mean"), "net_municipal_budget_dkk"),
    (("net_municipal_dkk", "mean"), "net_municipal_dkk"),
    (("fund_net_dkk", "mean"), "fund_net_dkk"),
    (("prob_net_loss_municipality_budget",), "prob_net_loss_municipality_budget"),
    (("break_even_municipality", "p50"), "break_even_year_p50"),
    (("break_even_municipality", "prob_within_run"), "prob_break_even_within_run"),
)


def experiment_headline(folder: Path, summary: dict[str, Any]) -> dict[str, Any]:
    """An experiment job's headline figures as flat columns (none for a single run, or an
    experiment without a headline file): for ``compare_implementations``, every arm's
    :data:`COMPARE_HEADLINE` figures (means over replications) and the replications per arm."""
    if summary.get("experiment") != "compare_implementations" or not (folder / COMPARE_FILE).is_file():
        return {}
    data = json.loads((folder / COMPARE_FILE).read_text(encoding="utf-8"))
    arms = data.get("arms") if isinstance(data, dict) else None
    if not isinstance(arms, dict):
        raise CorruptJob(f"{COMPARE_FILE} holds no arms")
    out: dict[str, Any] = {"replications": data.get("replications")}
    for arm, figures in arms.items():
        for path, name in COMPARE_HEADLINE:
            value: Any = figures
            for step in path:
                value = value.get(step) if isinstance(value, dict) else None
            if isinstance(value, (bool, int, float)) or (path[-1] == "p50" and value is None and
                                                          isinstance(figures.get(path[0]), dict)):
                out[f"{arm}_{name}"] = value
    return out


class CorruptJob(Exception):
    """A job folder whose files cannot be read (its row gets status ``corrupt``)."""


def _job_row(sweep_dir: Path, folder: Path) -> tuple[dict[str, Any], list[str]]:
    hydra_dir = folder / ".hydra"
    row: dict[str, Any] = {"job_num": None, "job_dir": folder.relative_to(sweep_dir).as_posix(),
                           "status": "incomplete", "error": None, "skipped": False}
    try:
        job_num = int(_yaml(hydra_dir / "hydra.yaml")["hydra"]["job"]["num"])
    except Exception:  # noqa: BLE001  (absent or unreadable: the row is still the job's)
        job_num = None
    row.update(job_num=job_num, skipped=(folder / SKIPPED).exists())
    try:
        overrides = _yaml(hydra_dir / "overrides.yaml") or []
        if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
            raise CorruptJob(".hydra/overrides.yaml is not a list of overrides")
        typed = typed_overrides(overrides)
    except Exception as exc:  # a broken job folder is a row, not the end of the table
        return _corrupt(row, exc, ".hydra/overrides.yaml"), []
    summary: dict[str, Any] = {}
    try:
        if (folder / ERROR).is_file():
            row["status"] = "failed"
            row["error"] = (folder / ERROR).read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
            row["skipped"] = False
        elif (folder / SUMMARY).is_file():
            summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
            if not isinstance(summary, dict):
                raise CorruptJob(f"{SUMMARY} holds a {type(summary).__name__}, not a JSON object of key figures")
            row["status"] = "ok"
            summary = {**summary, **experiment_headline(folder, summary)}
    except Exception as exc:
        _corrupt(row, exc, SUMMARY)
        summary = {}
    row.update(typed)
    for key, value in summary.items():
        if key in row and row[key] != value:
            key = f"{key}_summary"  # an override and a summary figure of the same name differ
        row.setdefault(key, value)
    return row, list(typed)


def _corrupt(row: dict[str, Any], exc: BaseException, what: str) -> dict[str, Any]:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    row.update(status="corrupt", skipped=False,
               error=message if isinstance(exc, CorruptJob) else f"unreadable {what}: {message}")
    return row


def expected_jobs(sweep_dir: Path) -> list[tuple[str, list[str]]] | None:
    """The (folder, overrides) of every job of the last sweep into ``sweep_dir``, from the
    ``multirun.yaml`` Hydra saves there; None if that cannot be known (another sweeper, or a
    custom ``hydra.sweep.subdir``). Mirrors Hydra 1.3's BasicSweeper and ``override_dirname``."""
    path = sweep_dir / "multirun.yaml"
    if not path.is_file():
        return None
    try:
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
        from hydra.core.override_parser.overrides_parser import OverridesParser

        hydra = _yaml(path)["hydra"]  # raw text, interpolations unresolved
        if not str(hydra["sweeper"]["_target_"]).endswith("BasicSweeper"):
            return None
        subdir = str(hydra["sweep"]["subdir"])
        params = hydra["sweeper"].get("params") or {}
        args = [f"{k}={v}" for k, v in params.items()] + list(hydra["overrides"]["task"])
        parser = OverridesParser.create()
        (batch,) = BasicSweeper.split_arguments(parser.parse_overrides(args), None)
        dn = hydra["job"]["config"]["override_dirname"]
        exclude = set(dn["exclude_keys"])
        jobs = []
        for num, overrides in enumerate(batch):
            lines = sorted(o.input_line for o in parser.parse_overrides(overrides)
                           if o.key_or_group not in exclude)
            dirname = str(dn["item_sep"]).join(lines).replace("=", str(dn["kv_sep"]))
            name = {f"${{{SUBDIR_RESOLVER}:${{hydra.job.override_dirname}}}}": job_subdir(dirname),
                    "${hydra.job.override_dirname}": dirname,
                    "${hydra.job.num}": str(num)}.get(subdir)
            if name is None:
                return None
            jobs.append((name, list(overrides)))
        return jobs
    except Exception:  # a sweep we cannot re-enumerate: report what is on disk
        return None


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    """Column types that Parquet and Excel read back: integers stay integers (nullable where
    a job has no value), a mix of ints and floats becomes float, any other mix becomes text."""
    import pandas as pd

    for col in df.columns:
        values = df[col].dropna()
        if values.empty or df[col].dtype != object:
            continue
        kinds = {bool if isinstance(v, bool) else int if isinstance(v, int) else
                 float if isinstance(v, float) else str if isinstance(v, str) else object
                 for v in values}
        if kinds == {bool}:
            df[col] = df[col].astype("boolean")
        elif kinds == {int}:
            df[col] = df[col].astype("Int64")
        elif kinds <= {int, float}:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
        elif kinds != {str}:
            df[col] = df[col].map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v))
    return df


def gather(sweep_dir: str | os.PathLike, *,
           expected: list[tuple[str, list[str]]] | None | bool = True) -> pd.DataFrame:
    """The table of a sweep folder: one row per job (see the module docstring), by job number.

    Jobs of the last sweep into the folder that never got a folder are rows with status
    ``missing`` (``expected``: that sweep's jobs as :func:`expected_jobs` gives them; by default
    read from the folder); folders of earlier sweeps into the same folder are rows too.
    """
    import pandas as pd

    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise FileNotFoundError(f"no sweep folder {sweep_dir}")
    override_keys: dict[str, None] = {}  # ordered set
    rows = []
    for folder in job_dirs(sweep_dir):
        row, keys = _job_row(sweep_dir, folder)
        rows.append(row)
        override_keys.update(dict.fromkeys(keys))
    have = {r["job_dir"] for r in rows}
    if expected is True:
        expected = expected_jobs(sweep_dir)
    for num, (name, overrides) in enumerate(expected or []):
        if name not in have:
            typed = typed_overrides(overrides)
            override_keys.update(dict.fromkeys(typed))
            rows.append({"job_num": num, "job_dir": name, "status": "missing", "error": None,
                         "skipped": False, **typed})
    front = ["job_num", "job_dir", "status", "error", "skipped"]
    df = pd.DataFrame(rows, columns=None if rows else front)
    keys = [k for k in override_keys if k not in front]
    df = df[front + keys + [c for c in df.columns if c not in front and c not in override_keys]]
    df = df.sort_values(["job_num", "job_dir"], na_position="last", kind="stable").reset_index(drop=True)
    df["job_num"] = df["job_num"].astype("Int64")
    df["skipped"] = df["skipped"].astype(bool)
    df["status"] = df["status"].astype(str)
    df = _tidy(df)
    df.attrs["overrides"] = keys
    return df


@dataclass(frozen=True)
class SweepOutput(TableFormats):
    """The sweep's ``output`` settings: its table's formats and whether it draws charts."""

    charts: bool = True


def output_of(sweep_dir: Path) -> SweepOutput:
    """The sweep's ``output`` settings (from its ``multirun.yaml``; the defaults where that is
    not known or a value is not valid)."""
    path = sweep_dir / "multirun.yaml"
    try:
        node = (_yaml(path) or {}).get("output") if path.is_file() else None
    except (AttributeError, OSError, ValueError):
        node = None
    node = node if isinstance(node, dict) else {}
    default = SweepOutput()
    flags = {k: node[k] if isinstance(node.get(k), bool) else getattr(default, k)
             for k in ("parquet", "csv", "charts")}
    locale = node.get("csv_locale")
    return SweepOutput(csv_locale=locale if locale in CSV_LOCALES else "en", **flags)


def csv_locale_of(sweep_dir: Path) -> str:
    """The sweep's ``output.csv_locale`` (``en`` if that is not known)."""
    return output_of(sweep_dir).csv_locale


def write_table(sweep_dir: Path, df: pd.DataFrame, output: TableSettings | None = None) -> list[Path]:
    """``sweep_summary.csv`` and/or ``.parquet`` at the sweep's root, in the formats of the
    sweep's ``output`` settings unless ``output`` is given (:func:`peersim.io.write_tables`)."""
    return write_tables(sweep_dir, {TABLE: df}, output or output_of(sweep_dir))

