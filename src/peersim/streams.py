"""Named random-number streams.

Each mechanism draws from its own stream, derived from the run's seed and the stream's name, so
changing one mechanism (say, how many intro meetings a coordinator holds) does not reshuffle the
random numbers of another (say, who attends a session). Scenarios compared with the same seed
thereby share their random numbers where their mechanisms coincide (common random numbers).
"""

from __future__ import annotations

import zlib

import numpy as np

STREAMS = (
    "referral",     # referrals, intro-meeting attendance, declines at referral
    "traits",       # a new citizen's subgroup, baseline, attendance propensity, responsiveness
    "waiting",      # giving up while waiting, declining an invitation
    "attendance",   # session attendance and dropout
    "recovery",     # week-to-week QPR-15 fluctuation
    "companionship",
    "volunteers",   # strain hazards, recruitment, training dropout, returns
    "fidelity",
)


def make_streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent numpy Generator per stream name, reproducible from ``seed``."""
    return {
        name: np.random.default_rng(
            np.random.SeedSequence(entropy=seed, spawn_key=(zlib.crc32(name.encode()),))
        )
        for name in STREAMS
    }
