"""The parameter evidence register (docs/parameters.md, .csv): it covers every parameter of the
composed configuration, every row states a unit, a source and a quality, uncertain parameters show
their distribution, the quality rule behaves as documented, and the files in docs/ are current."""

from __future__ import annotations

import dataclasses
import functools
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import CONF, REPO

from peersim import evidence as ev
from peersim import load_config
from peersim.config import group_options
from peersim.evidence import cli as ev_cli

# Citation forms of documents outside the repository, which the register rejects (built from parts,
# so that a search of the repository for them finds only real uses)
OLD_NOTES, OLD_SEED, OLD_SEED_PATH = "DOMAIN" + ".md", "seed " + "002", "seeds" + "/004"

REGENERATE = "run `peersim-register` (or `make register`, or `python -m peersim.evidence`) and commit docs/"


@pytest.fixture(scope="module")
def register() -> ev.Register:
    return ev.build_register(strict=False)


def _leaves(tree, prefix=""):
    """Dotted key -> value of every leaf of ``dataclasses.asdict`` output (lists are leaves)."""
    if isinstance(tree, dict):
        out = {}
        for k, v in tree.items():
            out.update(_leaves(v, f"{prefix}.{k}" if prefix else k))
        return out
    return {prefix: tree}


@functools.cache
def _config_leaves(overrides: tuple[str, ...] = ()) -> dict:
    tree = dataclasses.asdict(load_config(list(overrides)))
    tree.pop("uncertainty")
    tree.pop("experiment", None)
    return _leaves(tree)


# ---------------------------------------------------------------------------------------------
# Coverage
# ---------------------------------------------------------------------------------------------

def test_conf_follows_the_comment_convention(register):
    assert not register.problems, (
        "conf/ breaks the comment convention of the parameter register "
        "('key: value   # <unit>; <what it is and its source>'):\n  " + "\n  ".join(register.problems))


def test_every_leaf_of_the_default_configuration_is_in_the_register(register):
    keys = {r.key for r in register.rows}
    missing = [k for k in _config_leaves() if k not in keys and not ev.is_setting(k)]
    assert not missing, f"parameters missing from the register: {missing}"
    assert len(keys) > 100, "the register lost most of its rows"


@pytest.mark.parametrize("group", ["scenario", "municipality"])
def test_every_scenario_and_preset_value_has_its_own_row(register, group):
    """Whatever an option sets differently from the default configuration has a row for that
    option, with the value the composed configuration has under it."""
    default = _config_leaves()
    rows = {(r.key, r.applies_to): r for r in register.rows}
    for option in group_options(group):
        leaves = _config_leaves((f"{group}={option}",))
        for key, value in leaves.items():
            if ev.is_setting(key) or default.get(key, object()) == value:
                continue
            row = rows.get((key, f"{group}={option}"))
            assert row is not None, f"{group}={option} sets {key}={value!r} but the register has no row for it"
            assert row.value == value, f"{key} under {group}={option}: register {row.value!r}, config {value!r}"


def test_scenario_rows_name_the_scenarios_that_set_them(register):
    fte = {r.applies_to: r.value for r in register.rows if r.key == "coordinator.fte"}
    assert fte["scenario=local_coordinator"] == _config_leaves(("scenario=local_coordinator",))["coordinator.fte"]
    assert fte["scenario=partnership"] == _config_leaves(("scenario=partnership",))["coordinator.fte"]
    assert fte["scenario=partnership"] < fte["scenario=local_coordinator"]
    pops = {r.applies_to: r.value for r in register.rows if r.key == "municipality.population"}
    assert {f"municipality={m}" for m in group_options("municipality")} <= set(pops)
    assert pops["municipality=copenhagen"] == _config_leaves(("municipality=copenhagen",))["municipality.population"]
    shared = [r for r in register.rows if r.key == "municipality.eligible_share"]
    assert [r.applies_to for r in shared] == ["every municipality preset"]


def test_values_of_shared_rows_are_those_of_the_default_configuration(register):
    default = _config_leaves()
    for r in register.rows:
        if r.applies_to in ("all", "every municipality preset") and r.key in default:
            assert r.value == default[r.key], f"{r.key}: register {r.value!r}, configuration {default[r.key]!r}"


def test_experiment_and_hydra_configuration_are_not_in_the_register(register):
    assert not [r for r in register.rows if r.file.startswith(("conf/experiment", "conf/hydra"))]
    assert not [r for r in register.rows if r.key.startswith(("hydra.", "experiment.", "uncertainty."))]


# ---------------------------------------------------------------------------------------------
# Every row: unit, source, quality; uncertain parameters: their distribution
# ---------------------------------------------------------------------------------------------

def test_every_row_has_a_unit_a_source_and_an_allowed_quality(register):
    for r in register.rows:
        assert r.unit.strip(), f"{r.key} ({r.file}) has no unit"
        assert r.source.strip(), f"{r.key} ({r.file}) has no source"
        assert r.quality in ev.QUALITIES, f"{r.key}: quality {r.quality!r} is not one of {ev.QUALITIES}"
    assert set(register.counts()) == set(ev.QUALITIES)
    assert sum(register.counts().values()) == len(register.rows)


def test_every_uncertain_parameter_appears_with_its_distribution(register):
    spec = yaml.safe_load((CONF / "uncertainty" / "default.yaml").read_text(encoding="utf-8"))
    parameters = (spec or {}).get("parameters") or {}
    for key, d in parameters.items():
        rows = [r for r in register.rows if r.key == key]
        assert rows, f"uncertain parameter {key} is not in the register"
        for r in rows:
            assert r.distribution.startswith(("× " if d.get("relative") else "") + d["dist"]), (
                f"{key}: distribution {r.distribution!r} does not show {d['dist']}")
            assert (r.dist["lo"], r.dist["hi"]) == (d["lo"], d["hi"]), f"{key}: range differs from the file"
    uncertain = {r.key for r in register.rows if r.distribution}
    assert uncertain == set(parameters), "a parameter shows a distribution that the file does not give it"


# ---------------------------------------------------------------------------------------------
# The quality rule and the comment reader
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("comment", "quality"), [
    ("share; calibrated to the trial (Poulsen et al. 2025, doi 10.1186/s12888-025-07011-y). assumption", "calibrated"),
    ("weeks; six months (docs/domain.md, Companionship). assumption: a round number", "expert assumption"),
    ("persons; randomised (doi 10.1186/s12888-025-07011-y)", "trial"),
    ("persons; about 8 (docs/domain.md, Group course; [S2])", "published"),
    ("persons; about 8 ([S2])", "published"),
    ("hours; the productive-hours norm ([S4] section 7.2)", "published"),
    ("DKK; Socialstyrelsen cost model", "published"),
    (f"persons; a figure ({OLD_NOTES}, {OLD_SEED})", None),  # documents outside the repository are no source
    ("share; derived from a calibrated and an assumed value [assumption]", "expert assumption"),
    ("points; reliable change [published]", "published"),
    ("weeks; no source at all", None),
])
def test_the_quality_rule_follows_its_documented_precedence(comment, quality):
    entry = ev.Entry(Path("x.yaml"), 1, "a.b", "1", ev.parse_comment([comment]))
    found = ev.quality_of(entry)
    assert (found[0] if found else None) == quality


def test_a_key_takes_unit_and_source_from_the_key_around_it(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text(
        "# a file header (docs/domain.md) is not a source of the keys below\n"
        "first: 1        # weeks; no source here\n"
        "money:          # DKK per success; SØM (docs/domain.md, Economics)\n"
        "  social: 10    # mainly housing\n"
        "  health: 20    # QPR-15 points; mainly admissions, see\n"
        "                # the next line [assumption]\n"
        "flag: true      # true/false; switch. assumption: why not\n",
        encoding="utf-8")
    entries = {e.key: e for e in ev.parse_conf_file(f, "g", Path("x.yaml"))}
    assert set(entries) == {"g.first", "g.money", "g.money.social", "g.money.health", "g.flag"}
    assert entries["g.money"].header and not entries["g.money.social"].header
    [problem] = ev.entry_problems(entries["g.first"])
    assert problem.startswith("x.yaml:2: 'g.first' states no source")
    assert ev.entry_problems(entries["g.flag"]) == []
    social = entries["g.money.social"]
    assert ev.quality_of(social)[0] == "published" and ev.unit_of(social) == "DKK per success"
    health = entries["g.money.health"]
    assert health.comment.unit == "QPR-15 points" and health.comment.tag == "assumption"
    assert health.comment.note == "mainly admissions, see the next line"
    assert ev.quality_of(health)[0] == "expert assumption"



@pytest.mark.parametrize(("text", "flagged"), [
    ("persons; about 8 (docs/domain.md, Group course; [S2])", []),
    ("hours; ([S4] section 7.2); random seeds 0-9", []),
    (f"persons; about 8 ({OLD_NOTES}, {OLD_SEED})", [OLD_NOTES, OLD_SEED]),
    (f"DKK; Socialstyrelsen ({OLD_SEED_PATH} 7.2)", [OLD_SEED_PATH[:-2]]),
    ("weeks; a figure ([S9])", ["[S9]"]),
])
def test_citations_a_reader_cannot_follow_are_problems(text, flagged):
    problems = ev.citation_problems(text, "x.yaml:1: 'a.b'")
    assert len(problems) == len(flagged), problems
    for problem, what in zip(problems, flagged, strict=True):
        assert problem.startswith("x.yaml:1: 'a.b': cites ") and what in problem


def test_an_old_citation_in_conf_stops_the_register_naming_file_and_line(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    course = conf / "course" / "default.yaml"
    lines = course.read_text(encoding="utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith("max_participants:"))
    lines[n] = f"max_participants: 8   # persons per course; about 8 ({OLD_NOTES}, {OLD_SEED})"
    course.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import peersim.config

    monkeypatch.setattr(peersim.config, "conf_dir", lambda: conf)
    with pytest.raises(ev.RegisterError) as info:
        ev.build_register()
    message = str(info.value)
    assert f"conf/course/default.yaml:{n + 1}: 'course.max_participants': cites '{OLD_NOTES}'" in message
    assert f"cites '{OLD_SEED}'" in message


def test_source_ids_are_the_ones_docs_domain_md_defines():
    """docs/domain.md exists with a Sources table defining exactly SOURCE_IDS, and every id cited in
    conf/ is one of them."""
    import re

    text = (REPO / "docs" / "domain.md").read_text(encoding="utf-8")
    assert "\n## Sources\n" in text
    sources = text.split("\n## Sources\n", 1)[1]
    defined = re.findall(r"^\| \*\*(S\d+)\*\* \|", sources, flags=re.MULTILINE)
    assert tuple(defined) == ev.SOURCE_IDS
    cited = {m for path in CONF.rglob("*.yaml")
             for m in re.findall(r"\[(S\d+)\]", path.read_text(encoding="utf-8"))}
    assert cited and cited <= set(ev.SOURCE_IDS), cited - set(ev.SOURCE_IDS)


def test_a_new_key_without_a_comment_stops_the_register_naming_file_and_line(tmp_path, monkeypatch):
    """End to end on a copy of conf/: a comment removed and a new payment target without
    comments are reported with their file and line."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    course = conf / "course" / "default.yaml"
    lines = course.read_text(encoding="utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if line.startswith("dropout_per_session:"))
    lines[n] = "dropout_per_session: 0.02"
    course.write_text("\n".join(lines) + "\n", encoding="utf-8")
    econ = conf / "economics" / "default.yaml"
    text = econ.read_text(encoding="utf-8")
    at = text.index("\nstandard_offer:")
    new = ("    extra_target:\n      basis: success\n      threshold_qpr: 0.0\n      share: 1.0\n"
           "      subgroups: [significant]\n      expected_rate: 0.01\n      weight: 0.0\n")
    econ.write_text(text[:at].rstrip("\n") + "\n" + new + text[at:], encoding="utf-8")
    first_new = text[:at].rstrip("\n").count("\n") + 3  # line of `basis:` in the new block
    import peersim.config

    monkeypatch.setattr(peersim.config, "conf_dir", lambda: conf)
    with pytest.raises(ev.RegisterError) as info:
        ev.build_register()
    message = str(info.value)
    assert f"conf/course/default.yaml:{n + 1}: 'course.dropout_per_session' has no comment" in message
    assert f"conf/economics/default.yaml:{first_new}: 'economics.contract.targets.extra_target.basis' " \
           "has no comment" in message
    assert "extra_target.weight' has no comment" in message


@pytest.mark.slow
def test_a_calibrated_parameter_set_in_conf_gets_rows_of_its_own(tmp_path, monkeypatch):
    """A fit copied into conf/calibrated/ (``+calibrated=<name>``) is listed as its own option,
    with the value the configuration composes under it, in its mechanism's section."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF, conf)
    (conf / "calibrated").mkdir(exist_ok=True)
    (conf / "calibrated" / "fit.yaml").write_text(
        "# @package _global_\n"
        "recovery:\n"
        "  effect_full_dose_qpr: 6.5   # QPR-15 points; calibrated: trial difference 5.1 "
        "(doi 10.1186/s12888-025-07011-y)\n", encoding="utf-8")
    import peersim.config

    monkeypatch.setattr(peersim.config, "conf_dir", lambda: conf)
    reg = ev.build_register(strict=False)
    [row] = [r for r in reg.rows if r.applies_to == "calibrated=fit"]
    assert (row.key, row.value, row.quality, row.section) == (
        "recovery.effect_full_dose_qpr", 6.5, "calibrated", "recovery")
    # recovery has named options (default, scale_up): its default row applies to recovery=default
    default = [r for r in reg.rows if r.key == "recovery.effect_full_dose_qpr"
               and r.applies_to in ("all", "recovery=default")]
    assert default and default[0].value == load_config([]).recovery.effect_full_dose_qpr


# ---------------------------------------------------------------------------------------------
# The files: formats, --check, and the copies in docs/
# ---------------------------------------------------------------------------------------------

def test_csv_opens_in_pandas_with_one_row_per_parameter(register):
    data = ev.outputs(register)["parameters.csv"]
    assert data.startswith(b"\xef\xbb\xbf"), "the CSV needs a UTF-8 BOM so that Excel reads the Danish letters"
    df = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False)
    assert list(df.columns) == ev.CSV_COLUMNS
    assert len(df) == len(register.rows)
    assert set(df["quality"]) <= set(ev.QUALITIES)
    pop = df[(df.key == "municipality.population") & (df.applies_to == "municipality=copenhagen")]
    assert float(pop["value"].iloc[0]) == load_config(["municipality=copenhagen"]).municipality.population
    assert df["source"].str.contains("ø").any(), "Danish letters did not survive the round trip"


def test_markdown_groups_by_mechanism_and_counts_by_quality(register):
    md = ev.render_markdown(register)
    for title in ["Referral", "Coordinator", "Course", "Volunteers", "Recovery", "Companionship",
                  "Fidelity", "Economics", "Municipality presets", "Scenarios"]:
        assert f"\n## {title}\n" in md, f"section {title} is missing"
    counts = register.counts()
    for q in ev.QUALITIES:
        assert f"| {q} | {counts[q]} |" in md
    assert "peersim-register --check" in md
    # economics has named options (socialstyrelsen_2018, no_health_savings), so its table names the option
    assert "| `economics.costs.municipal_staff_salary_dkk_per_year` | default | 510,000 | DKK/year" in md


def test_values_are_formatted_for_reading():
    assert ev.format_value(510000.0, "DKK/year incl. pension") == "510,000"
    assert ev.format_value(52500, "persons") == "52,500"
    assert ev.format_value(0.25, "share") == "0.25"
    assert ev.format_value([0.25, 0.5, 0.25], "shares") == "[0.25, 0.5, 0.25]"
    assert ev.format_value(True, "true/false") == "true"


def test_check_detects_a_stale_register(tmp_path, monkeypatch, register, capsys):
    monkeypatch.setattr(ev_cli, "build_register", lambda *a, **k: register)
    out = tmp_path / "docs"
    assert ev.main(["--check", "--out", str(out)]) == 1, "--check passed without any files"
    assert ev.main(["--out", str(out)]) == 0
    assert ev.main(["--check", "--out", str(out)]) == 0
    md = out / "parameters.md"
    md.write_text(md.read_text(encoding="utf-8").replace("| 0.79 |", "| 0.80 |"), encoding="utf-8")
    assert ev.main(["--check", "--out", str(out)]) == 1
    assert "parameters.md" in capsys.readouterr().err


def test_docs_in_the_repository_are_current(register):
    assert not register.problems, "fix the comments in conf/ first (see test_conf_follows_the_comment_convention)"
    stale = ev.stale_files(REPO / "docs", ev.outputs(register))
    assert not stale, f"docs/{', docs/'.join(stale)} out of date with conf/: {REGENERATE}"
