"""Push providers: one per platform, each turning a `PushMessage` into its service's request
and its answer into a `SendResult` the dispatcher acts on."""

import email.utils
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from backend.notifications.payloads import PushMessage


class Verdict(StrEnum):
    delivered = "delivered"
    invalid_token = "invalid_token"  # noqa: S105 (a verdict's name, not a secret)
    """The token will never work again: the device is deactivated."""
    retry = "retry"
    """A timeout, 429, 5xx or anything else: try again later (bounded)."""


@dataclass(frozen=True, slots=True)
class SendResult:
    verdict: Verdict
    reason: str = ""
    retry_after: float | None = None
    """Seconds the provider asked us to wait (Retry-After), if it did."""


class PushProvider(Protocol):
    platform: str

    async def send(self, token: str, message: PushMessage) -> SendResult: ...

    async def close(self) -> None: ...


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
