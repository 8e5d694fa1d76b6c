"""How long a push waits before its next attempt."""

import random


def retry_delay(
    attempt: int,
    *,
    base: float,
    maximum: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Exponential back-off with jitter: about base x 2^(attempt-1), drawn from its upper half
    so that pushes failing together do not come back together. A provider's Retry-After is a
    floor: never sooner than it asked, a little later at random."""
    rng = rng or random.Random()  # noqa: S311 (timing jitter, not a secret)
    ceiling = min(maximum, base * 2 ** max(0, attempt - 1))
    delay = rng.uniform(ceiling / 2, ceiling)
    if retry_after is not None and retry_after > 0:
        delay = max(delay, retry_after * rng.uniform(1.0, 1.1))
    return delay
