"""``peersim-register``: write docs/parameters.md and docs/parameters.csv, or check that they are current."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from peersim import config
from peersim.evidence.register import RegisterError, build_register
from peersim.evidence.render import outputs
from peersim.io import atomic_write
from peersim.validation import ConfigError


def default_outdir() -> Path:
    """The repository's docs/, or ./docs when conf/ is the copy shipped inside the wheel."""
    repo = config.conf_dir().parent
    return repo / "docs" if (repo / "pyproject.toml").is_file() else Path.cwd() / "docs"


def stale_files(outdir: Path, files: dict[str, bytes]) -> list[str]:
    """Names of the files that are missing from ``outdir`` or differ from ``files``."""
    return [name for name, data in files.items()
            if not (outdir / name).is_file() or (outdir / name).read_bytes() != data]


def main(argv: Sequence[str] | None = None) -> int:
    """``peersim-register [--check] [--out DIR]``: 0 written or current, 1 out of date (``--check``),
    2 conf/ breaks the comment convention or does not compose."""
    parser = argparse.ArgumentParser(
        prog="peersim-register",
        description="Write the parameter evidence register (parameters.md, parameters.csv) from conf/.")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the files are missing or out of date")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder of the register files (default: the repository's docs/)")
    args = parser.parse_args(argv)
    outdir = args.out or default_outdir()
    try:
        reg = build_register()
    except (RegisterError, ConfigError) as exc:
        print(f"peersim-register: error: {exc}", file=sys.stderr)
        return 2
    files = outputs(reg)
    if args.check:
        stale = stale_files(outdir, files)
        if stale:
            names = ", ".join(str(outdir / n) for n in stale)
            print(f"peersim-register: out of date with conf/: {names}; run `peersim-register` "
                  "(or `make register`) and commit the result", file=sys.stderr)
            return 1
        print(f"peersim-register: {outdir / 'parameters.md'} and parameters.csv are up to date")
        return 0
    outdir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        atomic_write(outdir / name, lambda p, data=data: p.write_bytes(data))
    counts = ", ".join(f"{n} {q}" for q, n in reg.counts().items())
    print(f"peersim-register: wrote {outdir / 'parameters.md'} and parameters.csv "
          f"({len(reg.rows)} parameters: {counts})")
    return 0
