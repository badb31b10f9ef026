"""Every Danish municipality, by name: the 98 kommuner with region, population, centroid, neighbours.

The data is ``peersim/data/municipalities.csv`` (its sources, dates and the rules that made the
command-line names and the neighbours are in ``municipalities.md`` beside it). It is read once.
:func:`lookup` finds a municipality by LAU code, Danish name, command-line name or alias,
case-insensitive and with or without Danish letters; an unknown name is a one-line
:class:`~peersim.validation.ConfigError` naming the closest names.

A foundation module: it knows nothing of the model or of Hydra. The command line and the
configuration (``municipality=vejle``) are meant to build on it.
"""

from __future__ import annotations

import csv
import difflib
import functools
import math
import re
from dataclasses import dataclass
from importlib import resources

from peersim.validation import ConfigError

DATA_FILE = "municipalities.csv"
REGIONS = ("Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland")
EARTH_RADIUS_KM = 6371.0

# Three ways people write æ, ø and å without them: the official transliteration (ae, oe, aa),
# the plain letter with the stroke or ring dropped (ae, o, a) and a one-letter fold (a, o, a).
_FOLDS = (
    {"æ": "ae", "ø": "oe", "å": "aa", "ä": "ae", "ö": "oe", "ü": "ue"},
    {"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "ü": "u"},
    {"æ": "a", "ø": "o", "å": "a", "ä": "a", "ö": "o", "ü": "u"},
)
_SUFFIXES = (" kommune", " municipality", " regionskommune")


@dataclass(frozen=True)
class Municipality:
    """One row of the data file."""

    code: int                 # LAU code (kommunekode)
    name: str                 # as written in Danish
    cli_name: str             # ASCII, lowercase, what the command line shows
    aliases: tuple[str, ...]  # further accepted names (today's preset names among them)
    region: str
    population: int           # residents on population_date
    population_date: str      # ISO date, 1 January of the year counted
    population_source: str    # key into municipalities.md
    latitude: float           # centroid of the land area, degrees
    longitude: float
    neighbours: tuple[str, ...]  # cli_names of municipalities sharing a land border

    def __str__(self) -> str:
        return self.name


def spellings(text: str) -> set[str]:
    """The keys ``text`` is indexed or looked up under: lowercase, separators unified to ``_``,
    a trailing "kommune" dropped (with a genitive s: "Københavns Kommune"), æ/ø/å folded three
    ways (see ``_FOLDS``)."""
    base = " ".join(str(text).strip().lower().split())
    bases = [base]
    for suffix in _SUFFIXES:
        if base.endswith(suffix):
            stem = base[: -len(suffix)]
            bases = [stem, stem[:-1]] if stem.endswith("s") else [stem]  # "Københavns Kommune"
    out = set()
    for b in bases:
        for fold in _FOLDS:
            folded = "".join(fold.get(ch, ch) for ch in b)
            key = re.sub(r"[^a-z0-9]+", "_", folded).strip("_")
            if key:
                out.add(key)
    return out


def command_line_name(name: str) -> str:
    """The command-line form of a Danish name: æ→ae, ø→oe, å→aa, spaces and hyphens → ``_``."""
    folded = "".join(_FOLDS[0].get(ch, ch) for ch in name.strip().lower())
    return re.sub(r"[^a-z0-9]+", "_", folded).strip("_")


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split(";") if part.strip())


@functools.cache
def all_municipalities() -> tuple[Municipality, ...]:
    """Every municipality, ordered by LAU code (read once)."""
    text = resources.files("peersim").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    rows = []
    for row in csv.DictReader(text.splitlines()):
        rows.append(Municipality(
            code=int(row["code"]), name=row["name"], cli_name=row["cli_name"],
            aliases=_split(row["aliases"]), region=row["region"],
            population=int(row["population"]), population_date=row["population_date"],
            population_source=row["population_source"],
            latitude=float(row["latitude"]), longitude=float(row["longitude"]),
            neighbours=_split(row["neighbours"])))
    return tuple(sorted(rows, key=lambda m: m.code))


@functools.cache
def _index() -> dict[str, Municipality]:
    """Every accepted spelling -> its municipality; two municipalities may not share one."""
    index: dict[str, Municipality] = {}
    for m in all_municipalities():
        keys = {str(m.code), f"{m.code:04d}"} | spellings(m.name) | spellings(m.cli_name)
        for alias in m.aliases:
            keys |= spellings(alias)
        for key in keys:
            other = index.setdefault(key, m)
            if other is not m:
                raise ValueError(f"{DATA_FILE}: '{key}' names both {other.name} and {m.name}")
    return index


def names() -> list[str]:
    """The command-line names of all 98 municipalities, alphabetically."""
    return sorted(m.cli_name for m in all_municipalities())


def lookup(name: str | int) -> Municipality:
    """The municipality named by a LAU code, Danish name, command-line name or alias.

    Raises ConfigError (one line, the closest names) when nothing matches.
    """
    index = _index()
    for key in sorted(spellings(str(name))):
        if key in index:
            return index[key]
    candidates = sorted({m.cli_name for m in all_municipalities()}
                        | {a for m in all_municipalities() for a in m.aliases})
    wanted = command_line_name(str(name))
    close = difflib.get_close_matches(wanted, candidates, n=4, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else "see peersim.municipalities.names()"
    raise ConfigError(f"municipality: unknown municipality '{name}'; {hint} "
                      f"(98 names, e.g. koebenhavn, aarhus, hoeje_taastrup, or a LAU code such as 101)")


def is_municipality(name: str | int) -> bool:
    """Whether ``name`` names one of the 98 municipalities."""
    return any(key in _index() for key in spellings(str(name)))


def by_region(region: str | None = None) -> dict[str, list[Municipality]] | list[Municipality]:
    """The municipalities of ``region`` (any spelling, e.g. "sjaelland"), by LAU code; without a
    region, a dict of all five regions."""
    if region is None:
        return {r: [m for m in all_municipalities() if m.region == r] for r in REGIONS}
    wanted = spellings(region)
    for r in REGIONS:
        if wanted & spellings(r) or wanted & spellings(f"region {r}"):
            return [m for m in all_municipalities() if m.region == r]
    close = difflib.get_close_matches(command_line_name(region),
                                      [command_line_name(r) for r in REGIONS], n=2, cutoff=0.5)
    raise ConfigError(f"region: unknown region '{region}'; one of {', '.join(REGIONS)}"
                      + (f" (did you mean {', '.join(close)}?)" if close else ""))


def neighbours(name: str | int) -> list[Municipality]:
    """The municipalities that share a land border with ``name`` (none for the island
    municipalities Bornholm, Læsø, Samsø, Fanø, Ærø, Langeland and Morsø)."""
    return [lookup(n) for n in lookup(name).neighbours]


def distance_km(a: str | int | Municipality, b: str | int | Municipality) -> float:
    """Great-circle distance between two municipalities' centroids, in km."""
    ma = a if isinstance(a, Municipality) else lookup(a)
    mb = b if isinstance(b, Municipality) else lookup(b)
    lat1, lon1, lat2, lon2 = map(math.radians, (ma.latitude, ma.longitude, mb.latitude, mb.longitude))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h)))


def nearest(name: str | int, k: int = 3) -> list[Municipality]:
    """The ``k`` municipalities whose centroids lie closest to ``name``'s (land border or not)."""
    home = lookup(name)
    others = [m for m in all_municipalities() if m is not home]
    return sorted(others, key=lambda m: (distance_km(home, m), m.code))[:k]


def national_total() -> int:
    """The sum of all 98 municipalities' populations (rows count 2020-2024, mostly 1 January
    2023; see municipalities.md)."""
    return sum(m.population for m in all_municipalities())
