"""Configuration: every file in conf/ composes and validates, bad input fails with one clear line,
and every default states its source."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml
from conftest import CONF, assert_one_line_naming
from omegaconf import DictConfig, ListConfig

from peersim import ConfigError, PeersimConfig, load_config, run
from peersim.config import config_hash, group_options

# conf/hydra holds launcher settings for Hydra itself, not a peersim group
GROUPS = sorted(p.name for p in CONF.iterdir()
                if p.is_dir() and not p.name.startswith((".", "_")) and p.name != "hydra")
# groups outside the defaults list, selected with +group=option
OPTIONAL_GROUPS = {"experiment", "calibrated"}
GROUP_OPTIONS = [(g, o) for g in GROUPS for o in group_options(g)]


def _walk(obj, path=""):
    """Yield (path, value) for every leaf of a parameter tree."""
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            yield from _walk(getattr(obj, f.name), f"{path}.{f.name}" if path else f.name)
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from _walk(item, f"{path}[{i}]")
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from _walk(item, f"{path}.{key}")
    else:
        yield path, obj


# ---------------------------------------------------------------------------------------------
# Every file composes
# ---------------------------------------------------------------------------------------------

def test_conf_has_the_groups_and_options_users_select():
    assert {"scenario", "municipality"} <= set(GROUPS)
    assert {"local_coordinator", "partnership"} <= set(group_options("scenario"))
    assert "fredericia" in group_options("municipality")
    assert "_common" not in group_options("municipality"), "shared parts (_*.yaml) are not options"


@pytest.mark.parametrize(("group", "option"), GROUP_OPTIONS, ids=[f"{g}={o}" for g, o in GROUP_OPTIONS])
def test_every_option_of_every_group_composes_and_validates(group, option):
    plus = "+" if group in OPTIONAL_GROUPS else ""
    params = load_config([f"{plus}{group}={option}"])
    assert isinstance(params, PeersimConfig)
    node = getattr(params, group, None)
    if group not in OPTIONAL_GROUPS and dataclasses.is_dataclass(node) and hasattr(node, "name"):
        assert node.name == option, f"{group}={option} composed into {group}.name={node.name!r}"


@pytest.mark.parametrize("scenario", group_options("scenario"))
@pytest.mark.parametrize("municipality", group_options("municipality"))
def test_every_scenario_composes_with_every_municipality(scenario, municipality):
    params = load_config([f"scenario={scenario}", f"municipality={municipality}"])
    assert (params.scenario.name, params.municipality.name) == (scenario, municipality)
    assert params.scenario.implementation in ("local_coordinator", "partnership")


def test_default_config_is_a_tree_of_plain_values():
    """Hydra stays at the edge: the model gets dataclasses, lists and scalars, never a DictConfig,
    and no value is left unset (``???``)."""
    params = load_config([])
    assert (params.scenario.name, params.municipality.name) == ("local_coordinator", "fredericia")
    assert params.weeks == 52 * params.years
    for path, value in _walk(params):
        assert not isinstance(value, DictConfig | ListConfig), f"{path} is an OmegaConf node"
        assert value != "???", f"{path} is left unset"
        assert value is None or isinstance(value, bool | int | float | str), (
            f"{path} has an unexpected type {type(value)}")


def test_overrides_reach_the_parameters():
    p = load_config(["scenario=partnership", "municipality=copenhagen", "seed=7", "years=2",
                     "coordinator.fte=0.5", "course.max_participants=6"])
    assert (p.scenario.name, p.municipality.name, p.seed, p.years) == ("partnership", "copenhagen", 7, 2)
    assert (p.coordinator.fte, p.course.max_participants) == (0.5, 6)
    assert load_config(["scenario=partnership"]).coordinator.fte < load_config([]).coordinator.fte


def test_each_load_gives_independent_parameters():
    a, b = load_config([]), load_config([])
    a.coordinator.fte = 3.0
    a.recovery.subgroup_shares[0] = 0.9
    assert b.coordinator.fte != 3.0 and b.recovery.subgroup_shares[0] != 0.9, "parameter objects share state"
    assert load_config([]).coordinator.fte != 3.0


def test_config_hash_identifies_the_configuration(make_params):
    a, b = make_params("years=1"), make_params("years=1")
    assert config_hash(a) == config_hash(b)
    b.coordinator.fte = 0.9
    assert config_hash(a) != config_hash(b), "changing a parameter did not change the config hash"
    c = make_params("years=1", seed=a.seed + 1)
    assert config_hash(a) != config_hash(c), "the seed is not part of the config hash"
    assert run(a).summary["config_hash"] == config_hash(a)


def test_shared_with_adds_neighbours_under_the_same_coordinator():
    p = load_config(["shared_with=[kolding,helsingor]"])
    assert [m.name for m in p.municipalities] == ["fredericia", "kolding", "helsingor"]
    assert {m.coordinator_group for m in p.municipalities} == {p.municipality.coordinator_group}
    assert p.extra_municipalities[0].population == load_config(["municipality=kolding"]).municipality.population


def test_run_accepts_a_list_of_overrides():
    r = run(["years=1", "seed=2", "scenario=partnership"])
    assert (r.summary["seed"], r.summary["scenario"], r.summary["weeks"]) == (2, "partnership", 52)


# ---------------------------------------------------------------------------------------------
# Bad input: ConfigError with one line naming the key
# ---------------------------------------------------------------------------------------------


BAD_INPUT = [
    # (overrides, every one of these must appear in the message)
    (["scenario=nope"], ["scenario", "nope", "local_coordinator", "partnership"]),
    (["municipality=atlantis"], ["municipality", "atlantis", "fredericia", "copenhagen"]),
    (["volunteers.burnout_treshold=0.6"], ["volunteers.burnout_treshold", "burnout_threshold"]),
    (["sed=3"], ["sed", "'seed'"]),
    (["+sed=3"], ["sed", "'seed'"]),  # '+' adds keys even to a typed config; still caught
    (["+experiment=nope"], ["experiment", "nope", "compare_implementations"]),
    (["coordinator.hours_per_course_wek=2"], ["coordinator.hours_per_course_wek", "hours_per_course_week"]),
    (["seed=abc"], ["seed", "abc"]),
    (["course.sessions=1.5"], ["course.sessions"]),
    (["output.charts=maybe"], ["output.charts"]),
    (["coordinator.hours_per_course_week=-1"], ["coordinator.hours_per_course_week", "-1"]),
    (["coordinator.fte=-1"], ["coordinator.fte"]),
    (["course.max_participants=0"], ["course.max_participants"]),
    (["course.min_participants_to_start=6", "course.max_participants=5"],
     ["course.min_participants_to_start", "course.max_participants"]),
    (["recovery.subgroup_shares=[0.5,0.5,0.5]"], ["recovery.subgroup_shares"]),
    (["recovery.subgroup_shares=[0.5,0.5]"], ["recovery.subgroup_shares"]),
    (["years=0"], ["years"]),
    (["referral.decline_at_referral=1.5"], ["referral.decline_at_referral"]),
    (["course.dropout_per_session=nan"], ["course.dropout_per_session"]),
    (["scenario.implementation=foo"], ["scenario.implementation", "partnership"]),
    (["shared_with=[atlantis]"], ["shared_with", "atlantis", "kolding"]),
    (["volunteers=3"], ["volunteers=3", "default"]),  # a config group given a number
    (["scenario=1.5"], ["scenario=1.5", "partnership"]),
    (["municipality=_common"], ["municipality=_common", "unknown option", "fredericia"]),  # a shared part
    (["+experiment=_targets"], ["experiment=_targets", "unknown option", "validate"]),
    pytest.param(["fidelity.weight_training=0.9"], ["fidelity.weight_training"],
                 id="fidelity-weights-not-summing-to-1"),
]


def _ids(case) -> str:
    return case[0][-1] if isinstance(case, tuple) else case.id


@pytest.mark.parametrize(("overrides", "must_name"), BAD_INPUT, ids=[_ids(c) for c in BAD_INPUT])
def test_bad_input_raises_one_line_naming_the_key(overrides, must_name):
    with pytest.raises(ConfigError) as info:
        load_config(overrides)
    assert_one_line_naming(info.value, must_name)


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


# ---------------------------------------------------------------------------------------------
# Every default states its source
# ---------------------------------------------------------------------------------------------

# Every numeric default needs a source: a comment attached to it (on its line, the comment lines
# right above it, the comment lines continuing it below, or a comment of an enclosing key) must
# name docs/domain.md, a source id [S0]-[S4] defined there, a doi, a calibration, Socialstyrelsen or
# an "assumption" (the text is lowercased before matching).
SOURCE_MARKERS = re.compile(r"docs/domain\.md|\[s\d+\]|\bassumption|\bdoi\b|\bcalibrated\b|socialstyrelsen")
KEY_LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[\w-]+):(?P<rest>.*)$")
# top-level keys that are run settings, not parameters with evidence (see peersim.evidence.SETTINGS)
RUN_SETTINGS = {"seed"}


def _is_number_or_numbers(value) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_is_number_or_numbers(v) for v in value)
    return isinstance(value, int | float) and not isinstance(value, bool)


def _split_comment(rest: str) -> tuple[str, str]:
    """Value text and inline comment of ``rest`` (the text after ``key:``)."""
    m = re.search(r"(^|\s)#", rest)
    return (rest[: m.start()].strip(), rest[m.end():]) if m else (rest.strip(), "")


def unsourced_defaults(path: Path) -> list[str]:
    """Lines (``file:line: text``) of a conf file holding a numeric default without a source."""
    lines = path.read_text(encoding="utf-8").splitlines()
    problems: list[str] = []
    parents: list[tuple[int, str]] = []  # (indent, attached comment text) of enclosing keys
    for i, line in enumerate(lines):
        m = KEY_LINE.match(line)
        if not m or line.lstrip().startswith("#"):
            continue
        indent = len(m["indent"])
        value_text, comment = _split_comment(m["rest"])
        above = []
        j = i - 1
        while j >= 0 and lines[j].lstrip().startswith("#"):
            above.append(lines[j])
            j -= 1
        below = []
        j = i + 1
        while j < len(lines) and lines[j].lstrip().startswith("#"):
            below.append(lines[j])
            j += 1
        attached = " ".join([comment, *above, *below]).lower()
        while parents and parents[-1][0] >= indent:
            parents.pop()
        if not value_text:  # a mapping header: its comment covers the keys below it
            parents.append((indent, attached))
            continue
        try:
            value = yaml.safe_load(value_text)
        except yaml.YAMLError:
            continue
        if not _is_number_or_numbers(value):
            continue  # names, labels, switches, choices, interpolations, ??? (set by a scenario)
        if indent == 0 and m["key"] in RUN_SETTINGS:
            continue
        context = " ".join([attached, *(text for _, text in parents)])
        if not SOURCE_MARKERS.search(context):
            problems.append(f"{path.name}:{i + 1}: {line.strip()}")
    return problems


CONF_FILES = sorted(CONF.rglob("*.yaml"))


@pytest.mark.parametrize("path", CONF_FILES, ids=[str(p.relative_to(CONF)) for p in CONF_FILES])
def test_every_default_states_its_source(path):
    problems = unsourced_defaults(path)
    assert not problems, (
        f"conf/{path.relative_to(CONF)}: "
        "defaults without a source (add 'docs/domain.md, <section>', a source id such as '[S2]', a doi, 'calibrated' or "
        "'assumption: <reason>' to the comment):\n" + "\n".join(problems)
    )


def test_the_source_check_catches_an_unsourced_default(tmp_path):
    """The check above would fail for a default without a source (and pass with one)."""
    f = tmp_path / "x.yaml"
    f.write_text("a: 1.0   # persons per course\n"
                 "b: 2   # persons. assumption: small groups\n"
                 "c:   # DKK per hour (docs/domain.md, Economics)\n  d: 3\n"
                 "g: 4   # persons; about 8 ([S2])\n"
                 "h: 5   # persons; about 8 (" + "DOMAIN" + ".md, seeds)\n"  # an old citation
                 "e: [1, 2]   # DKK; a list, doing fine\n"
                 "f: 0.5   # share; the trial\n      # (Poulsen et al. 2025, doi 10.1186/x)\n", encoding="utf-8")
    problems = unsourced_defaults(f)
    assert [p.split(":")[1] for p in problems] == ["1", "6", "7"], problems


# ---------------------------------------------------------------------------------------------
# Values set in Python (after load_config) are checked by run() as the command line's are
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("section", "key", "value", "must_name"), [
    ("coordinator", "fte", -1, ["coordinator.fte", "between 0.0 and", "-1"]),
    ("coordinator", "fte", "abc", ["coordinator.fte", "a number", "'abc'"]),
    ("coordinator", "ftee", 2, ["coordinator.ftee", "did you mean 'fte'"]),
    ("course", "sessions", 10.5, ["course.sessions", "whole number"]),
    ("output", "charts", "yes", ["output.charts", "true or false"]),
    ("recovery", "subgroup_shares", (0.25, "half", 0.25), ["recovery.subgroup_shares[1]", "'half'"]),
], ids=lambda v: str(v) if not isinstance(v, list) else "")
def test_run_checks_values_set_in_python(section, key, value, must_name):
    from peersim import run

    params = load_config(["years=1"])
    setattr(getattr(params, section), key, value)
    with pytest.raises(ConfigError) as info:
        run(params)
    assert_one_line_naming(info.value, must_name)


def test_values_from_numpy_are_accepted_where_they_fit():
    import numpy as np

    from peersim.params import validate

    params = load_config([])
    params.seed = np.int64(3)
    params.coordinator.fte = np.float64(0.8)
    params.coordinator.training_weeks = np.int64(4)
    validate(params)


def test_shared_with_set_in_python_is_applied_by_run():
    from peersim import run

    params = load_config(["years=1"])
    params.shared_with = ["kolding"]
    assert run(params).summary["municipality"] == "fredericia+kolding"
    params = load_config(["years=1"])
    params.shared_with = ["atlantis"]
    with pytest.raises(ConfigError) as info:
        run(params)
    assert_one_line_naming(info.value, ["shared_with", "atlantis", "kolding"])


def test_an_experiment_is_selected_with_or_without_the_plus():
    """``experiment: null`` stands in the defaults list, so ``experiment=<name>`` selects one; the
    ``+experiment=<name>`` form the docs long used is read as the same."""
    plain = load_config(["experiment=validate", "experiment.replications=3"])
    plus = load_config(["+experiment=validate", "experiment.replications=3"])
    assert type(plain.experiment).__name__ == "ValidateConfig" and plain == plus
    assert load_config([]).experiment is None


def test_the_removed_experiment_charts_key_names_its_replacement():
    with pytest.raises(ConfigError, match=r"^unknown key 'experiment.charts': use output.charts"):
        load_config(["experiment=compare_implementations", "experiment.charts=false"])
