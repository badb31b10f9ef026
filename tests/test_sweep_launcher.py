"""peersim's launcher of sweeps (hydra/launcher=peersim, the default): each job's configuration
derived from one composition per shape equals Hydra's own composition, the job's files equal
those Hydra's joblib launcher writes, and the rules of what may be derived.

The derivation is checked against Hydra's ``load_sweep_config`` key by key (no Hydra process);
the files by running one small sweep through both launchers side by side.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import CliRuns
from omegaconf import OmegaConf

from peersim.config import conf_dir, register_schema
from peersim.sweep.derive import JobConfigs, first_of_each_shape, settable_positions
from peersim.sweep.hydra_job import to_yaml
from peersim.sweep.pool import cores, workers_for

SWEEP = ["scenario=local_coordinator,partnership", "seed=0,1,2", "volunteers.burnout_threshold=0.5,0.6"]


@pytest.fixture(scope="module")
def hydra_loader():
    """Hydra's config loader and the master configuration of ``SWEEP`` (what a sweeper holds)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.types import RunMode

    register_schema()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration("config", [*SWEEP, "years=1"], run_mode=RunMode.MULTIRUN)
        yield loader, master
    GlobalHydra.instance().clear()


def _jobs() -> list[list[str]]:
    values = [[f"{o.split('=')[0]}={v}" for v in o.split("=", 1)[1].split(",")] for o in SWEEP]
    return [[*job, "years=1"] for job in itertools.product(*values)]


def _parsed(overrides):
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create().parse_overrides(overrides)


def test_derived_configurations_equal_hydras_composition_key_by_key(hydra_loader):
    loader, master = hydra_loader
    configs = JobConfigs(loader, master)
    jobs = _jobs()
    assert len(jobs) == 12
    for overrides in jobs:
        cfg, task_cfg = configs.job_config(overrides)
        expected = loader.load_sweep_config(master, overrides)
        assert OmegaConf.to_container(cfg) == OmegaConf.to_container(expected), overrides
        assert cfg.hydra.job.override_dirname == expected.hydra.job.override_dirname
        without = OmegaConf.to_container(expected)
        del without["hydra"]
        assert OmegaConf.to_container(task_cfg) == without, overrides
        assert OmegaConf.to_container(task_cfg, resolve=True)["seed"] == int(overrides[1].split("=")[1])
    # one composition per scenario (the shape), the other 10 jobs derived by setting values
    assert (configs.composed, configs.derived) == (2, 10)


def test_only_plain_values_of_existing_scalars_are_set_instead_of_composed():
    groups = {"scenario", "municipality", "hydra/launcher"}
    overrides = ["scenario=partnership", "seed=3", "+extra=1", "~years", "volunteers.burnout_threshold=0.6",
                 "hydra.launcher.n_jobs=2", "shared_with=[kolding]", "municipality=kolding",
                 "municipality.population=5000", "course@x=1"]
    settable = settable_positions(_parsed(overrides), groups)
    # seed and the threshold only: a group, +/~, Hydra's own keys, a list, a key inside an
    # overridden group (municipality.population with municipality=...) and @package compose
    assert {overrides[i] for i in settable} == {"seed=3", "volunteers.burnout_threshold=0.6"}


def test_a_key_that_is_not_in_the_configuration_fails_as_hydras_composition_does(hydra_loader):
    from hydra.errors import ConfigCompositionException

    loader, master = hydra_loader
    configs = JobConfigs(loader, master)
    configs.job_config(["scenario=partnership", "seed=1", "volunteers.burnout_threshold=0.5", "years=1"])
    with pytest.raises(ConfigCompositionException):
        configs.job_config(["scenario=partnership", "seed=1", "volunteers.no_such_key=0.5", "years=1"])
    with pytest.raises(ConfigCompositionException):
        loader.load_sweep_config(master, ["scenario=partnership", "seed=1", "volunteers.no_such_key=0.5", "years=1"])


def test_a_batch_is_checked_by_one_job_per_shape(hydra_loader):
    _, master = hydra_loader
    checked = first_of_each_shape(_jobs(), master)
    assert [o[0] for o in checked] == ["scenario=local_coordinator", "scenario=partnership"]


def test_job_files_are_written_as_omegaconf_writes_them(hydra_loader):
    loader, master = hydra_loader
    for overrides in (["scenario=trial", "seed=2"], ["municipality=copenhagen", "shared_with=[kolding]"],
                      ["experiment=sobol"]):
        cfg = loader.load_sweep_config(master, overrides)
        task = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
        for part in (cfg, OmegaConf.masked_copy(cfg, "hydra"), task, cfg.hydra.overrides.task):
            assert to_yaml(part) == OmegaConf.to_yaml(part), overrides


def test_worker_count_follows_n_jobs_and_never_exceeds_the_jobs():
    assert workers_for(-1, 100) == cores()
    assert workers_for(-1, 1) == 1
    assert workers_for(1, 100) == 1
    assert workers_for(8, 3) == 3
    assert workers_for(-2, 100) == max(1, cores() - 1)
    assert workers_for(0, 5) == 1


# ---------------------------------------------------------------------------------------------
# The same sweep through peersim's launcher and Hydra's joblib launcher
# ---------------------------------------------------------------------------------------------

CMD = ["-m", "years=1", "scenario=local_coordinator,partnership", "seed=1,2", "hydra.sweep.dir=sw"]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    runs = CliRuns(tmp_path_factory.mktemp("launchers"),
                   {"peersim": CMD, "joblib": [*CMD, "hydra/launcher=joblib"]})
    runs.start("peersim", "joblib")
    yield runs
    runs.close()


def _hydra_yaml(path: Path) -> dict:
    """hydra.yaml without what names the launcher or the folder it ran in."""
    h = yaml.safe_load(path.read_text(encoding="utf-8"))["hydra"]
    for key in ("launcher", "sweep"):
        h.pop(key)
    h["runtime"].pop("output_dir")
    h["runtime"].pop("cwd")
    h["runtime"]["choices"].pop("hydra/launcher")
    h["overrides"]["hydra"] = [o for o in h["overrides"]["hydra"] if not o.startswith(("hydra/launcher", "hydra.sweep"))]
    return h


def test_both_launchers_write_the_same_job_folders_and_table(both):
    ours, theirs = both["peersim"], both["joblib"]
    assert ours.returncode == 0, ours.output
    assert theirs.returncode == 0, theirs.output
    a, b = ours.cwd / "sw", theirs.cwd / "sw"
    jobs = sorted(p.name for p in a.iterdir() if p.is_dir())
    assert len(jobs) == 4 and jobs == sorted(p.name for p in b.iterdir() if p.is_dir())
    for job in jobs:
        assert sorted(p.name for p in (a / job).iterdir()) == sorted(p.name for p in (b / job).iterdir()), job
        for name in ("config.yaml", "overrides.yaml"):
            assert (a / job / ".hydra" / name).read_bytes() == (b / job / ".hydra" / name).read_bytes(), (job, name)
        assert _hydra_yaml(a / job / ".hydra" / "hydra.yaml") == _hydra_yaml(b / job / ".hydra" / "hydra.yaml"), job
        sa, sb = (json.loads((d / job / "summary.json").read_text(encoding="utf-8")) for d in (a, b))
        assert sa == sb, job
    ta, tb = (pd.read_parquet(d / "sweep_summary.parquet") for d in (a, b))
    pd.testing.assert_frame_equal(ta, tb)


def test_a_finished_sweep_is_recognised_from_its_folders_without_composing(both):
    from peersim.sweep.pool import _all_done

    r = both["peersim"]
    assert r.returncode == 0, r.output
    sw = r.cwd / "sw"
    cfg = OmegaConf.load(next(sw.glob("*/.hydra/hydra.yaml")))
    OmegaConf.update(cfg, "hydra.sweep.dir", str(sw))
    jobs = [["years=1", f"scenario={s}", f"seed={n}"] for s in ("local_coordinator", "partnership") for n in (1, 2)]
    assert _all_done(cfg, jobs)
    assert not _all_done(cfg, [*jobs, ["years=1", "scenario=partnership", "seed=3"]])
