"""Named random-number streams.

Each mechanism draws from its own stream, derived from the run's seed and the stream's name, so
changing one mechanism (say, how many intro meetings a coordinator holds) does not reshuffle the
random numbers of another (say, who attends a session). Scenarios compared with the same seed
thereby share their random numbers where their mechanisms coincide (common random numbers).

A mechanism that gives every agent its own sequence (a citizen's week-to-week QPR-15 fluctuation)
draws from :func:`substream`: one generator per block of agents, derived from the seed, the
stream's name and the block's number, so the n-th citizen's sequence is the same whatever
happened to the others.
"""

from __future__ import annotations

import zlib

import numpy as np

STREAMS = (
    "referral",     # referrals, intro-meeting attendance
    "traits",       # a new citizen's subgroup, baseline, responsiveness, attendance propensity, patience,
                    # whether they decline at referral
    "waiting",      # declining an invitation
    "attendance",   # session attendance and dropout
    "companionship",
    "volunteers",   # strain hazards, recruitment, training dropout, pause lengths
    "fidelity",
)
BLOCK_STREAMS = (
    "recovery",     # week-to-week QPR-15 fluctuation, one sequence per citizen (substream per block of rows)
)


def _key(name: str) -> int:
    return zlib.crc32(name.encode())


def make_streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent numpy Generator per stream name, reproducible from ``seed``."""
    return {
        name: np.random.default_rng(np.random.SeedSequence(entropy=int(seed), spawn_key=(_key(name),)))
        for name in STREAMS
    }


def substream(seed: int, name: str, index: int) -> np.random.Generator:
    """The generator of block ``index`` of the block stream ``name`` (independent of every other).

    ``name`` must be declared in :data:`BLOCK_STREAMS`, so two mechanisms cannot share a stream
    by accident (the named streams are declared in :data:`STREAMS` for the same reason)."""
    if name not in BLOCK_STREAMS:
        raise ValueError(f"{name!r} is not a block stream; declared: {', '.join(BLOCK_STREAMS)}")
    return np.random.default_rng(np.random.SeedSequence(entropy=int(seed), spawn_key=(_key(name), index)))
