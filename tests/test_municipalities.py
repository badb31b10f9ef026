"""The 98 municipalities: the data file's shape, every spelling of a name, neighbours, totals.

The reference figures here are the ones named in src/peersim/data/municipalities.md (Statistics
Denmark's national and regional totals for 1 January 2023), not values read back from the file.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
import yaml

from peersim import municipalities as M
from peersim.validation import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "peersim" / "data" / "municipalities.csv"
PRESETS = ROOT / "conf" / "municipality"

NATIONAL_2023 = 5_932_654        # residents 1 January 2023 (Statistics Denmark; municipalities.md)
REGIONS_2023 = {                 # FOLK1A, 1 January 2023 (German Wikipedia region pages; municipalities.md)
    "Hovedstaden": 1_891_871,    # three of its rows count 2022 or 2024
    "Sjælland": 849_857,
    "Syddanmark": 1_237_413,
    "Midtjylland": 1_358_879,
}
ISLANDS = {"bornholm", "laesoe", "samsoe", "fanoe", "aeroe", "langeland", "morsoe"}
ALL = M.all_municipalities()


def test_98_rows_five_regions_unique_codes_and_names():
    assert len(ALL) == 98
    assert Counter(m.region for m in ALL) == {"Hovedstaden": 29, "Syddanmark": 22, "Midtjylland": 19,
                                              "Sjælland": 17, "Nordjylland": 11}
    for attr in ("code", "name", "cli_name"):
        values = [getattr(m, attr) for m in ALL]
        assert len(set(values)) == 98, attr
    assert all(101 <= m.code <= 860 for m in ALL)
    assert "Christiansø" not in {m.name for m in ALL}


def test_the_file_is_plain_utf8_csv_with_the_documented_columns():
    with DATA.open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    assert header == ["code", "name", "cli_name", "aliases", "region", "population", "population_date",
                      "population_source", "latitude", "longitude", "neighbours"]
    notes = (DATA.parent / "municipalities.md").read_text(encoding="utf-8")
    for key in {m.population_source for m in ALL}:
        assert f"`{key}`" in notes, f"population source {key} is not described in municipalities.md"


def test_command_line_names_follow_the_rule():
    for m in ALL:
        assert m.cli_name == M.command_line_name(m.name)
        assert m.cli_name.isascii() and m.cli_name == m.cli_name.lower()
    assert M.lookup(101).cli_name == "koebenhavn"
    assert M.lookup(169).cli_name == "hoeje_taastrup"
    assert M.lookup(173).cli_name == "lyngby_taarbaek"


@pytest.mark.parametrize("m", ALL, ids=lambda m: m.cli_name)
def test_every_municipality_is_found_by_name_ascii_name_and_code(m):
    assert M.lookup(m.name) is m
    assert M.lookup(m.name.upper()) is m
    assert M.lookup(m.cli_name) is m
    assert M.lookup(m.code) is m
    assert M.lookup(str(m.code)) is m
    assert M.lookup(f"{m.name} Kommune") is m
    # without Danish letters, as typed on a keyboard that lacks them
    plain = m.name.lower().replace("æ", "ae").replace("ø", "o").replace("å", "a")
    assert M.lookup(plain) is m
    assert M.lookup(m.cli_name.replace("_", "-")) is m


@pytest.mark.parametrize("spelling", ["Høje-Taastrup", "hoeje_taastrup", "hoje-taastrup", "HOJE TAASTRUP",
                                      "høje taastrup", "Høje-Taastrup Kommune", "169", "0169"])
def test_the_spellings_of_hoeje_taastrup(spelling):
    assert M.lookup(spelling).name == "Høje-Taastrup"


@pytest.mark.parametrize("preset, danish", [("copenhagen", "København"), ("helsingor", "Helsingør"),
                                            ("rodovre", "Rødovre"), ("fredericia", "Fredericia"),
                                            ("gladsaxe", "Gladsaxe"), ("kolding", "Kolding")])
def test_todays_preset_names_still_work(preset, danish):
    assert M.lookup(preset).name == danish


@pytest.mark.parametrize("spelling, danish", [("Københavns Kommune", "København"), ("kobenhavn", "København"),
                                              ("Aero", "Ærø"), ("Århus", "Aarhus"), ("arhus", "Aarhus"),
                                              ("nordfyn", "Nordfyns"), ("Vesthimmerland", "Vesthimmerlands"),
                                              ("Bornholms Regionskommune", "Bornholm"), ("tarnby", "Tårnby")])
def test_other_common_spellings(spelling, danish):
    assert M.lookup(spelling).name == danish


def test_no_two_municipalities_share_a_spelling():
    M._index.cache_clear()
    assert len(set(M._index().values())) == 98     # building the index raises on a shared key


@pytest.mark.parametrize("typo, expected", [("vejel", "vejle"), ("Koebnhavn", "koebenhavn"),
                                            ("hoje-tastrup", "hoeje_taastrup"), ("aalborgg", "aalborg")])
def test_an_unknown_name_is_one_line_naming_close_matches(typo, expected):
    with pytest.raises(ConfigError) as err:
        M.lookup(typo)
    message = str(err.value)
    assert "\n" not in message
    assert typo in message and expected in message.split("did you mean", 1)[1]


def test_an_unknown_name_without_close_matches_still_says_what_is_allowed():
    with pytest.raises(ConfigError, match="koebenhavn"):
        M.lookup("Berlin")
    assert not M.is_municipality("Berlin") and M.is_municipality("Vejle")


def test_neighbours_are_symmetric_and_exist():
    by_cli = {m.cli_name: m for m in ALL}
    for m in ALL:
        assert m.cli_name not in m.neighbours
        for n in m.neighbours:
            assert n in by_cli, f"{m.name}: unknown neighbour {n}"
            assert m.cli_name in by_cli[n].neighbours, f"{m.name} -> {n} but not back"


def test_only_the_island_municipalities_lack_a_land_neighbour():
    assert {m.cli_name for m in ALL if not m.neighbours} == ISLANDS


def test_some_known_borders():
    assert {m.name for m in M.neighbours("koebenhavn")} >= {"Frederiksberg", "Tårnby", "Gentofte"}
    assert [m.name for m in M.neighbours("frederiksberg")] == ["København"]
    assert {m.name for m in M.neighbours("fredericia")} == {"Kolding", "Vejle"}
    assert "Middelfart" not in {m.name for m in M.neighbours("fredericia")}   # Little Belt: water
    assert {m.name for m in M.neighbours("lolland")} == {"Guldborgsund"}


def test_nearest_reaches_across_water_and_distances_are_plausible():
    assert "Frederikshavn" in {m.name for m in M.nearest("laesoe", 3)}
    assert M.nearest("bornholm", 1)[0].region == "Hovedstaden"
    assert 1.0 < M.distance_km("koebenhavn", "frederiksberg") < 5.0
    assert 150 < M.distance_km("koebenhavn", "aarhus") < 200
    assert M.distance_km("vejle", "kolding") == pytest.approx(M.distance_km("kolding", "vejle"))


def test_coordinates_lie_in_denmark():
    for m in ALL:
        assert 54.5 < m.latitude < 57.8 and 8.0 < m.longitude < 15.2, m.name


def test_by_region():
    regions = M.by_region()
    assert list(regions) == list(M.REGIONS)
    assert sum(len(v) for v in regions.values()) == 98
    assert M.by_region("sjaelland") == M.by_region("Region Sjælland") == regions["Sjælland"]
    with pytest.raises(ConfigError, match="Syddanmark"):
        M.by_region("Syddanmrk")


def test_the_national_total_is_within_one_percent_of_statistics_denmark():
    total = M.national_total()
    assert total == sum(m.population for m in ALL)
    assert abs(total - NATIONAL_2023) / NATIONAL_2023 < 0.01


@pytest.mark.parametrize("region", sorted(REGIONS_2023))
def test_regional_sums_match_the_official_totals(region):
    """Exactly where every row counts 1 January 2023; within 1 % where some rows count other years."""
    rows = M.by_region(region)
    total = sum(m.population for m in rows)
    if {m.population_date for m in rows} == {"2023-01-01"}:
        assert total == REGIONS_2023[region]
    else:
        assert abs(total - REGIONS_2023[region]) / REGIONS_2023[region] < 0.01


def test_population_dates_are_first_of_january_2020_to_2024_mostly_2023():
    dates = Counter(m.population_date for m in ALL)
    assert set(dates) <= {f"{y}-01-01" for y in range(2020, 2025)}
    assert dates["2023-01-01"] >= 90


@pytest.mark.parametrize("preset", ["fredericia", "copenhagen", "helsingor", "rodovre", "gladsaxe", "kolding"])
def test_the_presets_agree_within_three_percent(preset):
    """The presets round DOMAIN.md's "recent years" figures; København's row counts 2022."""
    conf = yaml.safe_load((PRESETS / f"{preset}.yaml").read_text(encoding="utf-8"))
    m = M.lookup(conf["name"])
    assert m.name == conf["label"]
    assert abs(conf["population"] - m.population) / m.population < 0.03
