"""Recompute the centroid and land-border neighbours of every municipality from a GeoJSON map.

    python scripts/municipality_geometry.py municipalities.geojson [--check]

The map is the FOT 1:500,000 municipality map (Geodatastyrelsen & Danske Kommuner, 2014) as
published in the public repository magnuslarsen/geoJSON-Danish-Municipalities
(``municipalities/municipalities.geojson``, each feature's ``lau_1`` property the LAU code); the
map itself is not kept in this repository. The script rewrites the ``latitude``, ``longitude`` and
``neighbours`` columns of src/peersim/data/municipalities.csv and leaves every other column alone;
``--check`` only reports whether the file already agrees. src/peersim/data/municipalities.md says
why the columns are defined this way.

- centroid: the area-weighted centroid of all the municipality's polygons (holes subtracted), in a
  local equirectangular projection (longitude scaled by cos 56°), rounded to 4 decimals;
- neighbours: two municipalities share a land border when their polygons share at least
  ``MIN_SHARED`` vertices (coordinates rounded to 1e-6 degrees). The map is topologically clean, so
  a common border is a run of identical vertices; borders over water share none.
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import json
import math
import sys
from pathlib import Path

CSV = Path(__file__).resolve().parents[1] / "src" / "peersim" / "data" / "municipalities.csv"
MIN_SHARED = 2
COS_LAT0 = math.cos(math.radians(56.0))


def polygons(geojson: dict) -> dict[int, list]:
    """LAU code -> list of polygons (each a list of rings of [lon, lat, ...] points)."""
    out: dict[int, list] = collections.defaultdict(list)
    for feature in geojson["features"]:
        geom = feature["geometry"]
        polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
        out[int(feature["properties"]["lau_1"])].extend(polys)
    return out


def _ring(ring: list) -> tuple[float, float, float]:
    """Signed area and centroid (x, y) of one ring, x in projected units."""
    pts = [(p[0] * COS_LAT0, p[1]) for p in ring]
    area = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1]):
        cross = x1 * y2 - x2 * y1
        area += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    area /= 2
    if area == 0:
        return 0.0, 0.0, 0.0
    return area, cx / (6 * area), cy / (6 * area)


def centroid(polys: list) -> tuple[float, float]:
    """(latitude, longitude) of the area-weighted centroid; outer rings count, holes subtract."""
    total = sx = sy = 0.0
    for poly in polys:
        for i, ring in enumerate(poly):
            area, x, y = _ring(ring)
            weight = abs(area) if i == 0 else -abs(area)
            total += weight
            sx += weight * x
            sy += weight * y
    return round(sy / total, 4), round(sx / total / COS_LAT0, 4)


def land_borders(polys_by_code: dict[int, list]) -> dict[int, set[int]]:
    """LAU code -> the codes it shares at least MIN_SHARED vertices with."""
    owners: dict[tuple[float, float], set[int]] = collections.defaultdict(set)
    for code, polys in polys_by_code.items():
        for poly in polys:
            for ring in poly:
                for p in ring:
                    owners[(round(p[0], 6), round(p[1], 6))].add(code)
    shared: collections.Counter = collections.Counter()
    for codes in owners.values():
        ordered = sorted(codes)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1:]:
                shared[(a, b)] += 1
    borders: dict[int, set[int]] = {code: set() for code in polys_by_code}
    for (a, b), n in shared.items():
        if n >= MIN_SHARED:
            borders[a].add(b)
            borders[b].add(a)
    return borders


def updated_rows(geojson: dict, rows: list[dict]) -> list[dict]:
    polys = polygons(geojson)
    borders = land_borders(polys)
    cli = {int(r["code"]): r["cli_name"] for r in rows}
    out = []
    for row in rows:
        code = int(row["code"])
        lat, lon = centroid(polys[code])
        near = sorted(cli[c] for c in borders[code] if c in cli)  # Christiansø (411) is not a row
        out.append({**row, "latitude": f"{lat:.4f}", "longitude": f"{lon:.4f}", "neighbours": ";".join(near)})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("geojson", type=Path)
    parser.add_argument("--check", action="store_true", help="report differences, write nothing")
    args = parser.parse_args(argv)
    text = CSV.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    new = updated_rows(json.loads(args.geojson.read_text(encoding="utf-8")), rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(new)
    if buf.getvalue() == text:
        print(f"{CSV.name}: centroids and neighbours agree with {args.geojson.name}")
        return 0
    if args.check:
        changed = [r["name"] for r, n in zip(rows, new) if r != n]
        print(f"{CSV.name}: {len(changed)} rows differ: {', '.join(changed)}")
        return 1
    CSV.write_text(buf.getvalue(), encoding="utf-8")
    print(f"{CSV.name}: centroids and neighbours rewritten from {args.geojson.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
