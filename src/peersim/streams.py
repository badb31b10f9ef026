"""Random numbers: every random event draws from a stream of its owner.

Scenarios compared with the same seed (the arms of ``experiment=compare_implementations``: an own
coordinator, a partnership, a coordinator shared with a neighbour) should share their random
numbers where their random events coincide (common random numbers), so that the difference
between two arms is the difference their mechanisms make and not the luck of the draw. So no
random event draws from a sequence shared by the whole run, where one extra draw anywhere would
shift every later one; each draws from a stream of its owner (:func:`substream`), derived from
the seed, the stream's name (:data:`STREAMS`) and the owner's key:

- a municipality (keyed by its name, :func:`municipality_keys`, so it draws the same numbers
  whether it runs alone or with a neighbour): a uniform a week for its staff referrals and one
  for its self-referrals (drawn for the whole run at once), turned into counts by inverting their distributions
  (:func:`binomial_inverse`, :func:`poisson_inverse`), so a week's referrals move monotonically
  with the arm's awareness, pool and intro meetings instead of drawing fresh luck; one normal a
  course for the fidelity noise of its n-th course;
- a citizen (keyed by municipality and place in its referral order, in blocks): traits, session
  attendance and dropout, decisions, week-to-week QPR-15 fluctuation, so the n-th citizen
  referred in Kolding is the same person in every arm;
- a volunteer (keyed by place in the run's recruitment order, in blocks, and for weekly events
  by the year of the run): training dropout, and each week's burnout and exit draws;
- a coordinator (keyed by its first municipality): one uniform a recruitment campaign.

How much this buys is measured in ``benchmarks/crn.py`` (docs/model.md, Random numbers).
"""

from __future__ import annotations

import math
import zlib

import numpy as np

STREAMS = (
    "municipality",     # a uniform a week for staff referrals and one for self-referrals, then one normal
                        # a course for its fidelity noise (key: the municipality)
    "recruitment",      # a coordinator's recruitment campaigns, one uniform a campaign (key: its first municipality)
    "traits",           # a citizen's traits and session draws (key: municipality, block of its referral order)
    "recovery",         # a citizen's week-to-week QPR-15 fluctuation (key: municipality, block)
    "volunteer",        # a volunteer's training dropout (key: block of the recruitment order)
    "volunteer_weeks",  # a volunteer's weekly burnout and exit draws (key: block, year of the run)
)


def _key(name: str) -> int:
    return zlib.crc32(name.encode())


def substream(seed: int, name: str, *index: int) -> np.random.Generator:
    """The generator of the owner keyed ``index`` (one or more non-negative integers) of the
    stream ``name``, independent of every other owner and stream, reproducible from ``seed``.

    ``name`` must be declared in :data:`STREAMS`, so two mechanisms cannot share a stream by
    accident."""
    if name not in STREAMS:
        raise ValueError(f"{name!r} is not a declared stream; declared: {', '.join(STREAMS)}")
    return np.random.default_rng(np.random.SeedSequence(entropy=int(seed), spawn_key=(_key(name), *map(int, index))))


def municipality_keys(names: list[str]) -> list[int]:
    """The block-stream key of each municipality of a run: its name's, so a municipality draws the
    same numbers whether it runs alone or with others and wherever it stands in the list (a
    name's second occurrence, e.g. two generic municipalities, gets a key of its own)."""
    seen: dict[str, int] = {}
    keys = []
    for name in names:
        k = seen.get(name, 0)
        seen[name] = k + 1
        keys.append(_key(name) + (k << 32))
    return keys


def binomial_inverse(u: float, n: int, p: float) -> int:
    """The binomial(n, p) count whose distribution function first reaches ``u`` (inversion):
    with ``u`` uniform it is a binomial draw, and the same ``u`` gives a count that never falls
    as ``p`` rises (the coupling that makes arms with different referral rates comparable)."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if n * p > 100.0:  # the sum below would take many steps
        from scipy.stats import binom

        return int(binom.ppf(u, n, p))
    q = p / (1.0 - p)
    pmf = math.exp(n * math.log1p(-p))
    cdf, k = pmf, 0
    while cdf < u and k < n:
        pmf *= q * (n - k) / (k + 1)
        k += 1
        cdf += pmf
    return k


def poisson_inverse(u: float, mean: float) -> int:
    """The Poisson(mean) count whose distribution function first reaches ``u`` (inversion; the
    same ``u`` gives a count that never falls as the mean rises)."""
    if mean <= 0.0:
        return 0
    if mean > 100.0:
        from scipy.stats import poisson

        return int(poisson.ppf(u, mean))
    pmf = math.exp(-mean)
    cdf, k = pmf, 0
    while cdf < u:
        k += 1
        pmf *= mean / k
        if pmf == 0.0 and k > mean:  # rounding left the sum just short of a u next to 1
            break
        cdf += pmf
    return k
