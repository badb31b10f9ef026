"""Sweeps (``peersim -m ...``): one tidy table per sweep, resume, failures, launchers.

    peersim -m scenario=local_coordinator,partnership seed='range(0,20)'
    peersim -m scenario=local_coordinator,partnership seed='range(0,20)' hydra.sweep.dir=multirun/cmp
    peersim -m hydra/launcher=slurm hydra.launcher.partition=<name> seed='range(0,100)'
    python -m peersim.sweep multirun/cmp          # rebuild the table and charts of a sweep folder

A sweep is a folder (``hydra.sweep.dir``) with one sub-folder per job, named by the job's
overrides (``scenario=partnership,seed=3``, see :func:`job_subdir`), so that a job finds its own
folder again whatever its number in a later, larger or reordered sweep.

**The table.** At the end of a sweep (a Hydra callback, :class:`SweepCallback`) every job's
``summary.json`` is gathered into ``sweep_summary.csv`` and ``sweep_summary.parquet`` at the
sweep's root: one row per job with ``job_num``, ``job_dir``, ``status`` (``ok``, ``failed``,
``incomplete``: started but neither finished nor failed, e.g. killed; ``missing``: part of the
sweep but never started), ``error``, ``skipped`` (its result was reused from an earlier run of
the sweep), the job's overrides as typed columns (``seed`` an integer,
``volunteers.burnout_threshold`` a float) and every key of its ``summary.json``. The sweep's
charts (``sweep_chart_*.png``) are drawn from that table alone.

**Resume.** A job whose folder already holds a ``summary.json`` whose ``config_hash`` equals
the hash of the job's own resolved configuration is not run again: it prints that it was
skipped. Any other job starts by removing what an earlier attempt left (``summary.json``,
``error.txt``), so a folder never mixes two configurations.

**Failures.** Hydra 1.3 catches a job's exception into its ``JobReturn``; the basic sweeper then
re-raises the first failed job's exception once the batch is done, which ends the sweep before
``on_multirun_end`` (no table, the other jobs' results unreported). So a job in a sweep catches
its own error instead: it writes ``error.txt`` (the error and its traceback) into its folder,
prints one line and returns normally; the table marks it ``failed`` with the error, the end of
the sweep prints which jobs failed, and ``peersim`` exits with code 1. A job that dies without
running Python's error handling (killed by SLURM for time or memory, a crashed worker) makes
the launcher itself raise; ``peersim`` then still gathers the table (see :func:`end_of_command`)
and those jobs show as ``incomplete`` or ``missing``. Re-running the sweep runs exactly them.

**Launchers.** Sweeps run on Hydra's joblib launcher by default (conf/config.yaml), i.e. on
every core of this machine; ``hydra/launcher=slurm`` sends the same jobs to SLURM with
peersim's defaults from ``conf/hydra/launcher/slurm.yaml``, ``submitit_local`` runs them
through submitit on this machine (all at once: a way to test the cluster path, not to compute).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from peersim.io import (
    CSV_LOCALES,
    TableFormats,
    TableSettings,
    save_figure,
    write_json,
    write_tables,
    write_text,
)

if TYPE_CHECKING:
    import pandas as pd

    from peersim.params import PeersimConfig

SUMMARY = "summary.json"
ERROR = "error.txt"
SKIPPED = ".skipped"            # this job's result was reused by the last run of the sweep
TABLE = "sweep_summary"         # .csv and .parquet at the sweep's root
CHART_PREFIX = "sweep_chart_"
SUBDIR_RESOLVER = "peersim_subdir"
NO_OVERRIDES = "default"        # the folder of a job without overrides
MAX_NAME_BYTES = 140            # longer folder names are shortened and made unique with a hash
# What the sweep's charts show, when the jobs' summaries have them: (key, label with unit)
CHART_METRICS = (("citizens_started", "Citizens started (persons)"),
                 ("net_municipal_dkk", "Municipal net result (DKK)"))
# Top-level keys a sweep sets, told apart from summary figures in a table read back from CSV
TOP_LEVEL_OVERRIDES = ("seed", "scenario", "municipality", "years", "experiment", "shared_with")


# ---------------------------------------------------------------------------------------------
# Job folders
# ---------------------------------------------------------------------------------------------

def job_subdir(override_dirname: Any) -> str:
    """A job's folder name from Hydra's ``override_dirname`` (its sorted overrides).

    A job without overrides gets ``default`` (not the sweep's root, where the table lives);
    ``/`` in a value would nest folders and becomes ``%2F``. A name longer than
    ``MAX_NAME_BYTES`` (file systems stop at 255 bytes, encrypted ones at 143) first loses the
    leading parts of its dotted keys (``experiment.replications=3`` -> ``replications=3``),
    then its tail; either way it ends in ``~`` and a hash of the whole name, so it stays unique
    and the same in every run of the sweep.
    """
    name = str(override_dirname or "").replace("/", "%2F") or NO_OVERRIDES
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    digest = "~" + hashlib.sha256(name.encode()).hexdigest()[:12]
    short = ",".join(_short_item(item) for item in name.split(","))
    raw = short.encode()[: MAX_NAME_BYTES - len(digest)]
    return raw.decode(errors="ignore") + digest


def _short_item(item: str) -> str:
    key, sep, value = item.partition("=")
    return f"{key.lstrip('+~').rsplit('.', 1)[-1]}{sep}{value}" if sep else item


# Hydra resolves hydra.sweep.subdir in whichever process runs the job; registered resolvers
# travel there with Hydra's singleton state (joblib and submitit workers alike).
OmegaConf.register_new_resolver(SUBDIR_RESOLVER, job_subdir, replace=True)

def _launcher_conf_dir() -> Path:
    from peersim.config import conf_dir

    return conf_dir() / "hydra" / "launcher"


def launcher_options() -> list[str]:
    """The names ``hydra/launcher=`` accepts: the plugins' and peersim's own files."""
    from hydra.core.config_store import ConfigStore
    from hydra.core.plugins import Plugins

    Plugins.instance()
    names = {n.removesuffix(".yaml") for n in ConfigStore.instance().repo.get("hydra", {}).get("launcher", {})}
    names |= {p.stem for p in _launcher_conf_dir().glob("*.yaml")}
    return sorted(n for n in names if not n.startswith("_"))


# ---------------------------------------------------------------------------------------------
# One job of a sweep (called by the peersim command in multirun mode)
# ---------------------------------------------------------------------------------------------

def override_key(override: str) -> str:
    """``+output.charts=true`` -> ``output.charts``."""
    return override.lstrip("+~").split("=", 1)[0]


def summary_hash(folder: Path) -> str | None:
    """The ``config_hash`` in ``folder/summary.json``, or None (absent, unreadable, no hash)."""
    try:
        data = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("config_hash") if isinstance(data, dict) else None


def run_job(out: Path, make_params: Callable[[], PeersimConfig], overrides: Sequence[str],
            run_one: Callable[[PeersimConfig, Path, list[str]], None]) -> str:
    """Run one job of a sweep into ``out``, or skip it if it is already done; never raise.

    ``make_params`` composes and validates the job's configuration; ``run_one`` runs it and
    writes its files. Per-run charts are off unless ``output.charts`` was set on the command
    line (a sweep's charts come from its table). Returns ``ok``, ``skipped`` or ``failed``.
    """
    from peersim.config import config_hash

    overrides = list(overrides)
    name = out.name
    try:
        params = make_params()
        if params.experiment is None and "output.charts" not in {override_key(o) for o in overrides}:
            params.output.charts = False
        digest = config_hash(params)
        if summary_hash(out) == digest:
            write_text(out / SKIPPED, "")
            print(f"peersim: skipped {name}: already done with the same configuration")
            return "skipped"
        for stale in (SUMMARY, ERROR, SKIPPED):
            (out / stale).unlink(missing_ok=True)
        run_one(params, out, overrides)
        if params.experiment is not None:
            _mark_experiment_done(out, params, digest)
        return "ok"
    except (Exception, SystemExit) as exc:  # SystemExit: code that ends "the run" ends only this job
        message = _one_line(exc)
        text = (f"{message}\n\noverrides: {' '.join(overrides) or '(none)'}\nfolder: {out}\n\n"
                + "".join(traceback.format_exception(exc)))
        try:
            out.mkdir(parents=True, exist_ok=True)
            write_text(out / ERROR, text)
        except OSError as write_error:  # the report must not hide the job's own error
            print(f"peersim: cannot write {out / ERROR}: {write_error}", file=sys.stderr)
        print(f"peersim: job {name} failed: {message} (details in {out / ERROR})", file=sys.stderr)
        return "failed"


def _one_line(exc: BaseException) -> str:
    from peersim.params import ConfigError

    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    if isinstance(exc, ConfigError):
        return f"configuration error: {first}"
    if isinstance(exc, SystemExit):
        return f"stopped with exit code {exc.code}"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _mark_experiment_done(out: Path, params: PeersimConfig, digest: str) -> None:
    """An experiment's folder counts as done like a run's: a ``summary.json`` with the hash."""
    import peersim
    from peersim.experiments import find

    path = out / SUMMARY
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        return  # the experiment's own file: leave it; the job will simply run again next time
    if not isinstance(data, dict) or data.get("config_hash") == digest:
        return
    data = {"experiment": find(params).name, "peersim_version": peersim.__version__, **data,
            "config_hash": digest}
    write_json(path, data)


# ---------------------------------------------------------------------------------------------
# The sweep's table
# ---------------------------------------------------------------------------------------------

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


def _job_row(sweep_dir: Path, folder: Path) -> tuple[dict[str, Any], list[str]]:
    hydra_dir = folder / ".hydra"
    overrides = _yaml(hydra_dir / "overrides.yaml") or []
    try:
        job_num = int(_yaml(hydra_dir / "hydra.yaml")["hydra"]["job"]["num"])
    except (OSError, KeyError, TypeError, ValueError):
        job_num = None
    row: dict[str, Any] = {"job_num": job_num, "job_dir": folder.relative_to(sweep_dir).as_posix(),
                           "status": "incomplete", "error": None,
                           "skipped": (folder / SKIPPED).exists()}
    summary: dict[str, Any] = {}
    if (folder / ERROR).is_file():
        row["status"] = "failed"
        row["error"] = (folder / ERROR).read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
        row["skipped"] = False
    elif (folder / SUMMARY).is_file():
        try:
            summary = json.loads((folder / SUMMARY).read_text(encoding="utf-8"))
            row["status"] = "ok"
        except ValueError as exc:
            row["error"] = f"unreadable {SUMMARY}: {exc}"
    typed = typed_overrides(overrides)
    row.update(typed)
    for key, value in summary.items():
        if key in row and row[key] != value:
            key = f"{key}_summary"  # an override and a summary figure of the same name differ
        row.setdefault(key, value)
    return row, list(typed)


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


# ---------------------------------------------------------------------------------------------
# The sweep's charts (from the table only)
# ---------------------------------------------------------------------------------------------

def swept_keys(df: pd.DataFrame) -> list[str]:
    """Override columns that take more than one value among the finished jobs, seed last.

    :func:`gather` names the override columns in ``df.attrs["overrides"]`` (kept in the
    Parquet file); for a table read from CSV they are told apart from summary figures by their
    names: dotted keys and the top-level keys users set.
    """
    ok = df[df["status"] == "ok"]
    names = df.attrs.get("overrides")
    if names is None:
        names = [c for c in df.columns if "." in c or c in TOP_LEVEL_OVERRIDES]
    keys = [c for c in names if c in ok.columns and ok[c].nunique(dropna=True) > 1]
    return sorted(keys, key=lambda k: k == "seed")


def write_charts(sweep_dir: Path, df: pd.DataFrame) -> list[Path]:
    """One chart per swept key (seed aside): each metric's mean over seeds against the key's
    values, with the 10-90% range over seeds; a line per combination of the other swept keys.
    A sweep over seeds alone gets the distribution of each metric instead."""
    metrics = [(k, label) for k, label in CHART_METRICS
               if k in df.columns and df.loc[df["status"] == "ok", k].notna().any()]
    ok = df[df["status"] == "ok"]
    keys = swept_keys(df)
    if not metrics or len(ok) < 2 or not keys:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for old in sweep_dir.glob(f"{CHART_PREFIX}*.png"):
        old.unlink()
    paths = []
    axes_keys = [k for k in keys if k != "seed"]
    n_seeds = ok["seed"].nunique() if "seed" in ok.columns else 1
    if not axes_keys:
        fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4.2), squeeze=False)
        for ax, (metric, label) in zip(axes[0], metrics, strict=True):
            values = ok[metric].dropna().astype(float)
            ax.hist(values, bins=min(30, max(5, len(values) // 3)), color="#1b6ca8", alpha=0.8)
            ax.axvline(values.mean(), color="#d1495b", lw=2, label=f"mean {values.mean():,.0f}")
            ax.set_xlabel(label)
            ax.set_ylabel("Jobs (seeds)")
            ax.xaxis.set_major_formatter(_THOUSANDS())
            ax.legend(frameon=False, fontsize=9)
            ax.grid(alpha=0.3)
        fig.suptitle(f"Distribution over {len(ok)} seeds", fontsize=13, fontweight="bold", x=0.01, ha="left")
        fig.tight_layout()
        paths.append(save_figure(fig, sweep_dir / f"{CHART_PREFIX}seeds.png"))
        return paths
    for key in axes_keys:
        others = [k for k in axes_keys if k != key]
        groups = list(ok.groupby(others, dropna=False)) if others else [((), ok)]
        if len(groups) > 8:  # too many lines to read: pool the other keys into one band
            groups, pooled = [((), ok)], True
        else:
            pooled = False
        values = sorted(ok[key].dropna().unique(), key=_sort_key)
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4.4), squeeze=False)
        for ax, (metric, label) in zip(axes[0], metrics, strict=True):
            for i, (combo, part) in enumerate(groups):
                stats = part.groupby(key)[metric].agg(
                    mean="mean", lo=lambda s: s.quantile(0.1), hi=lambda s: s.quantile(0.9))
                stats = stats.reindex([v for v in values if v in stats.index])
                x = list(stats.index) if numeric else [values.index(v) for v in stats.index]
                combo = combo if isinstance(combo, tuple) else (combo,)
                name = ", ".join(f"{k}={v}" for k, v in zip(others, combo, strict=False)) or "mean"
                if pooled:
                    name = f"mean over {', '.join(others)}"
                offset = (i - (len(groups) - 1) / 2) * 0.06 if not numeric else 0
                xs = [xi + offset for xi in x]
                line = ax.plot(xs, stats["mean"], marker="o", lw=1.8 if numeric else 0, ms=7, label=name)[0]
                if numeric:
                    ax.fill_between(xs, stats["lo"], stats["hi"], color=line.get_color(), alpha=0.15, lw=0)
                else:
                    ax.errorbar(xs, stats["mean"], yerr=[stats["mean"] - stats["lo"], stats["hi"] - stats["mean"]],
                                fmt="none", ecolor=line.get_color(), alpha=0.6, capsize=4)
            if not numeric:
                ax.set_xticks(range(len(values)))
                ax.set_xticklabels([str(v) for v in values], rotation=20 if len(values) > 4 else 0)
            ax.set_xlabel(key)
            _y_axis(ax, label)
            ax.legend(frameon=False, fontsize=8)
        what = " and ".join(label.split(" (")[0].lower() for _, label in metrics)
        spread = (f"mean over {n_seeds} seeds; {'band' if numeric else 'bars'}: 10-90% of seeds"
                  if n_seeds > 1 else "one seed each: no spread")
        fig.suptitle(f"{what.capitalize()} by {key}", fontsize=13, fontweight="bold", x=0.01, ha="left")
        fig.text(0.01, 0.9, spread, fontsize=9, color="#555555", ha="left")
        fig.tight_layout(rect=(0, 0, 1, 0.92))
        safe = key.replace("/", "_").replace(".", "_")
        paths.append(save_figure(fig, sweep_dir / f"{CHART_PREFIX}{safe}.png"))
    return paths


def _THOUSANDS():  # noqa: N802 - a formatter factory, used like a constant
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: f"{v:,.0f}")


def _y_axis(ax, label: str) -> None:
    ax.set_ylabel(label)
    ax.yaxis.set_major_formatter(_THOUSANDS())
    lo, hi = ax.get_ylim()
    if lo < 0 < hi:
        ax.axhline(0, color="#555555", lw=0.8)
    ax.grid(alpha=0.3)


def _sort_key(v: Any) -> tuple[int, Any]:
    return (0, v) if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, str(v))


# ---------------------------------------------------------------------------------------------
# The end of a sweep
# ---------------------------------------------------------------------------------------------

@dataclass
class SweepReport:
    sweep_dir: Path
    counts: dict[str, int] = field(default_factory=dict)   # status -> jobs of the last sweep
    skipped: int = 0
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # (job_dir, status, error)
    tables: list[Path] = field(default_factory=list)   # sweep_summary.csv and/or .parquet
    charts: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.problems)


def finish(sweep_dir: str | os.PathLike, *, interrupted: bool = False, quiet: bool = False) -> SweepReport:
    """Gather the table, draw the charts, print what happened; the report of the last sweep.

    Counts and failures cover the jobs of the last sweep into the folder (from its
    ``multirun.yaml``) when they can be known, otherwise every job folder.
    """
    sweep_dir = Path(sweep_dir)
    expected = expected_jobs(sweep_dir)
    df = gather(sweep_dir, expected=expected)
    report = SweepReport(sweep_dir)
    if not df.empty:
        output = output_of(sweep_dir)
        report.tables = write_table(sweep_dir, df, output)
        try:
            report.charts = write_charts(sweep_dir, df) if output.charts else []
        except Exception as exc:  # a chart must not cost the table or the exit code
            print(f"peersim: sweep charts not drawn: {type(exc).__name__}: {exc}", file=sys.stderr)
    mine = df[df["job_dir"].isin({name for name, _ in expected})] if expected is not None else df
    report.counts = mine["status"].value_counts().to_dict()
    report.skipped = int(mine.loc[mine["status"] == "ok", "skipped"].sum())
    bad = mine[mine["status"] != "ok"]
    report.problems = [(r.job_dir, r.status, r.error or "") for r in bad.itertuples()]
    if not quiet:
        _print_report(report, len(mine), interrupted)
    return report


def _print_report(report: SweepReport, total: int, interrupted: bool) -> None:
    ok = report.counts.get("ok", 0)
    parts = [f"{ok} ok" + (f" ({report.skipped} skipped: already done)" if report.skipped else "")]
    parts += [f"{n} {status}" for status, n in sorted(report.counts.items()) if status != "ok"]
    where = (f"{report.sweep_dir / TABLE}." + "/.".join(p.suffix.lstrip(".") for p in report.tables)
             if report.tables else report.sweep_dir)
    head = "peersim sweep stopped early" if interrupted else "peersim sweep"
    print(f"{head}: {total} jobs: {', '.join(parts)}; table: {where}")
    for chart in report.charts:
        print(f"  chart: {chart}")
    if report.problems:
        print(f"peersim: error: {len(report.problems)} of {total} jobs did not finish "
              f"(re-run the same command with hydra.sweep.dir={report.sweep_dir} to run just those):",
              file=sys.stderr)
        for job_dir, status, error in report.problems[:20]:
            detail = f": {error}" if error else ""
            hint = f" ({report.sweep_dir / job_dir / ERROR})" if status == "failed" else ""
            print(f"  {status} {job_dir}{detail}{hint}", file=sys.stderr)
        if len(report.problems) > 20:
            print(f"  ... and {len(report.problems) - 20} more (see the table's status column)", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()


# The sweep running in this process: set by the callback, read by the peersim command.
_CURRENT: dict[str, Any] = {}


class SweepCallback(Callback):
    """Registered in conf/config.yaml (``hydra.callbacks.sweep_summary``); acts in multirun only."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _CURRENT.clear()
        _CURRENT.update(sweep_dir=Path(str(config.hydra.sweep.dir)), started=time.time())

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        _CURRENT.update(sweep_dir=sweep_dir, report=finish(sweep_dir))


def end_of_command() -> SweepReport | None:
    """The report of this process's sweep, gathering it now if the sweep ended without
    reaching ``on_multirun_end`` (a launcher error, Ctrl-C); None outside a sweep."""
    if "sweep_dir" not in _CURRENT:
        return None
    if "report" not in _CURRENT:
        try:
            _CURRENT["report"] = finish(_CURRENT["sweep_dir"], interrupted=True)
        except Exception as exc:  # never hide the error that stopped the sweep
            print(f"peersim: could not gather {_CURRENT['sweep_dir']}: {exc}", file=sys.stderr)
            return None
    return _CURRENT["report"]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m peersim.sweep <sweep_dir> [...]``: rebuild the table and charts by hand."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m peersim.sweep",
        description="Gather the jobs of a peersim sweep folder into sweep_summary.csv/.parquet "
                    "and draw its charts.")
    parser.add_argument("sweep_dir", nargs="+", type=Path, help="a sweep's hydra.sweep.dir")
    args = parser.parse_args(argv)
    code = 0
    for folder in args.sweep_dir:
        if not folder.is_dir():
            print(f"peersim: error: no sweep folder {folder}", file=sys.stderr)
            code = 2
            continue
        if finish(folder).failed:
            code = max(code, 1)
    return code


if __name__ == "__main__":
    sys.exit(main())
