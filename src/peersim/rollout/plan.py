"""A roll-out plan as coordinator groups: which municipalities start when, and who shares with whom.

A plan (``conf/rollout/<name>.yaml``, :class:`peersim.params.RolloutParams`) is given as waves
(municipalities starting in a calendar year, each the host of its own coordinator group), a rule
(:func:`build_groups`: a region or all; those below N adults share a neighbour's coordinator; the
largest first; at most K coordinators a year), or both; ``shared_with`` adds municipalities to a
named host's group. :func:`build_plan` turns it into :class:`Plan` and refuses, with one line
naming the key, a municipality named twice, an unknown name, a wave outside the horizon and sharing
with a municipality that is not in the plan. No Hydra and no model here.
"""

from __future__ import annotations

from dataclasses import dataclass

from peersim import municipalities as M
from peersim.validation import ConfigError

ADULT_SHARE = 0.79  # share of residents aged 18+ (conf/municipality/_common.yaml; docs/domain.md, Places)


@dataclass(frozen=True)
class Group:
    """One coordinator and the municipalities it serves (the host first), from ``start_year``."""

    host: str                      # command-line name of the host municipality
    members: tuple[str, ...]       # command-line names, the host first
    start_year: int                # calendar year
    implementation: str            # local_coordinator | partnership
    coordinator_fte: float | None  # None: the implementation's own (conf/scenario/)


@dataclass(frozen=True)
class Plan:
    name: str
    start_year: int
    end_year: int                  # last calendar year simulated (start_year + years - 1)
    groups: tuple[Group, ...]
    programme_office_dkk_per_year: float

    @property
    def years(self) -> list[int]:
        return list(range(self.start_year, self.end_year + 1))

    @property
    def municipalities(self) -> list[str]:
        return [m for g in self.groups for m in g.members]


def adults(m: M.Municipality, adult_share: float = ADULT_SHARE) -> float:
    return m.population * adult_share


def _name(text: str, key: str) -> M.Municipality:
    try:
        return M.lookup(text)
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("municipality:", f"{key}:", 1)) from None


def build_groups(region: str, share_below_adults: int, max_per_year: int, start_year: int,
                 implementation: str = "local_coordinator", coordinator_fte: float | None = None,
                 *, adult_share: float = ADULT_SHARE) -> list[Group]:
    """The rule: every municipality of ``region`` (``all``: Denmark). One with fewer adults than
    ``share_below_adults`` joins the coordinator of its nearest (by centroid) land neighbour that
    is large enough, or, with none (islands, or only small neighbours), the nearest large one of the
    area. Groups start largest first (by adults served), at most ``max_per_year`` a year (0: all
    in ``start_year``)."""
    pool = (list(M.all_municipalities()) if region.strip().lower() in ("all", "denmark", "danmark")
            else M.by_region(region))
    large = [m for m in pool if adults(m, adult_share) >= share_below_adults]
    if not large:  # nobody fills a coordinator alone: the largest hosts
        large = [max(pool, key=lambda m: (m.population, -m.code))]
    hosts = {m.cli_name: [m] for m in large}
    for m in sorted((m for m in pool if m.cli_name not in hosts), key=lambda m: (m.population, m.code)):
        near = [n for n in m.neighbours if n in hosts] or list(hosts)
        host = min(near, key=lambda h: (M.distance_km(m, hosts[h][0]), hosts[h][0].code))
        hosts[host].append(m)
    ordered = sorted(hosts.values(), key=lambda ms: (-sum(adults(x, adult_share) for x in ms), ms[0].code))
    per_year = max_per_year or len(ordered)
    return [Group(ms[0].cli_name, tuple(x.cli_name for x in ms), start_year + i // per_year, implementation,
                  coordinator_fte) for i, ms in enumerate(ordered)]


def build_plan(rollout, years: int, *, adult_share: float = ADULT_SHARE) -> Plan:
    """The plan of ``rollout`` (:class:`peersim.params.RolloutParams`) over ``years`` years; one
    ConfigError line for a plan that cannot be run."""
    start, end = rollout.start_year, rollout.start_year + years - 1
    groups: list[Group] = []
    need = max([w.year for w in rollout.waves] + [start]) - start + 1  # years the waves need
    for i, w in enumerate(rollout.waves):
        key = f"rollout.waves[{i}]"
        if not start <= w.year <= end:
            where = "after the horizon" if w.year > end else "before the plan starts"
            raise ConfigError(f"{key}.year={w.year} is {where} ({start}-{end}: rollout.start_year={start}, "
                              f"years={years}); move the wave or set years={need} or more")
        if not w.municipalities:
            raise ConfigError(f"{key}.municipalities is empty; list the municipalities that start in {w.year}")
        for text in w.municipalities:
            m = _name(text, f"{key}.municipalities")
            groups.append(Group(m.cli_name, (m.cli_name,), w.year, w.implementation, w.coordinator_fte))
    b = rollout.build
    if b.region:
        try:
            built = build_groups(b.region, b.share_below_adults, b.max_coordinators_per_year, start,
                                 b.implementation, b.coordinator_fte, adult_share=adult_share)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("region:", "rollout.build.region:", 1)) from None
        last = max(g.start_year for g in built)
        if last > end:
            raise ConfigError(
                f"rollout.build: {len(built)} coordinator groups at max_coordinators_per_year="
                f"{b.max_coordinators_per_year} start until {last}, after the horizon ({start}-{end}); "
                f"set years={last - start + 1} or more, or a larger rollout.build.max_coordinators_per_year")
        groups += built
    seen: dict[str, str] = {}
    for g in groups:
        for m in g.members:
            _once(seen, m, f"a wave of {g.start_year}" if len(g.members) == 1 else f"the group of {g.host}")
    hosts = {g.host: g for g in groups}
    for text, host_text in rollout.shared_with.items():
        m = _name(text, "rollout.shared_with")
        h = _name(host_text, f"rollout.shared_with.{text}")
        if h.cli_name not in hosts:
            raise ConfigError(f"rollout.shared_with.{text}: shares with {h.cli_name}, which is not a coordinator "
                              f"host of the plan; name one of: {', '.join(sorted(hosts)) or '(no waves)'}")
        _once(seen, m.cli_name, f"rollout.shared_with (with {h.cli_name})")
        g = hosts[h.cli_name]
        hosts[h.cli_name] = Group(g.host, (*g.members, m.cli_name), g.start_year, g.implementation, g.coordinator_fte)
    final = tuple(sorted(hosts.values(), key=lambda g: (g.start_year, M.lookup(g.host).code)))
    return Plan(rollout.name, start, end, final, rollout.programme_office_dkk_per_year)


def _once(seen: dict[str, str], name: str, where: str) -> None:
    if name in seen:
        raise ConfigError(f"rollout: {name} is in the plan twice ({seen[name]} and {where}); "
                          "a municipality starts once, in one coordinator group")
    seen[name] = where
