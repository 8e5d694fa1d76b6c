"""Apple Push Notification service, through `aioapns` (HTTP/2, token-based auth with a .p8 key).

`apns2` is not used: it cannot be imported on Python 3.10+ (its `hyper` dependency imports
`collections.Iterable`) and it pins PyJWT<2. `aioapns` signs its ES256 provider token itself
(kid = APNS_KEY_ID, iss = APNS_TEAM_ID, iat, renewed every 30 minutes) and reports a refused
push in its result rather than raising, so every result is checked here.

The client must be created inside the running event loop (it binds to it).
"""

import asyncio
import logging
import ssl
from pathlib import Path

from aioapns import APNs, NotificationRequest, PushType
from aioapns.connection import APNsTLSClientProtocol
from aioapns.exceptions import ConnectionClosed, ConnectionError, MaxAttemptsExceeded

from backend.core.config import Settings
from backend.notifications.payloads import PushMessage
from backend.notifications.providers import SendResult, Verdict

log = logging.getLogger(__name__)

PRIORITY_HIGH = 10
PRIORITY_NORMAL = 5
TOKEN_GONE = {"BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered"}
TTL_SECONDS = 24 * 3600


def apns_payload(message: PushMessage) -> dict:
    aps: dict = {
        "alert": {"title": message.title, "body": message.body},
        "badge": message.badge,
        "sound": "default",
        "category": message.category,
        "thread-id": message.collapse_key or message.category,
        "interruption-level": "time-sensitive" if message.urgent else "active",
    }
    return {"aps": aps, **message.data()}


async def _ignore_error(_request: NotificationRequest, _result: object) -> None:
    """aioapns would log every refusal at ERROR; the dispatcher records them instead."""


class APNsProvider:
    platform = "ios"

    def __init__(self, settings: Settings) -> None:
        key = Path(settings.apns_key_path or "").read_text()
        context = ssl.create_default_context()
        if settings.apns_ca_file is not None:
            context.load_verify_locations(cafile=str(settings.apns_ca_file))
        self.topic = settings.apns_topic
        self.timeout = settings.push_send_timeout_seconds
        self.client = APNs(
            key=key,
            key_id=settings.apns_key_id,
            team_id=settings.apns_team_id,
            topic=settings.apns_topic,
            use_sandbox=settings.apns_use_sandbox,
            ssl_context=context,
            max_connections=max(1, settings.push_concurrency // 10),
            max_connection_attempts=2,
            err_func=_ignore_error,
        )
        if settings.apns_endpoint:
            host, _, port = settings.apns_endpoint.rpartition(":")
            self.client.pool.protocol_class = type(
                "APNsCustomEndpointProtocol",
                (APNsTLSClientProtocol,),
                {"APNS_SERVER": host, "APNS_PORT": int(port)},
            )

    async def send(self, token: str, message: PushMessage) -> SendResult:
        request = NotificationRequest(
            device_token=token,
            message=apns_payload(message),
            priority=PRIORITY_HIGH if message.urgent else PRIORITY_NORMAL,
            push_type=PushType.ALERT,
            collapse_key=message.collapse_key,
            time_to_live=TTL_SECONDS,
        )
        try:
            result = await asyncio.wait_for(
                self.client.send_notification(request), timeout=self.timeout
            )
        except TimeoutError:
            return SendResult(Verdict.retry, "APNs: timed out")
        except (ConnectionError, ConnectionClosed, MaxAttemptsExceeded, OSError) as exc:
            return SendResult(Verdict.retry, f"APNs: connection failed ({type(exc).__name__})")
        if result.is_successful:
            return SendResult(Verdict.delivered)
        reason = result.description or ""
        text = f"APNs {result.status} {reason}".strip()
        if result.status == "410" or (result.status == "400" and reason in TOKEN_GONE):
            return SendResult(Verdict.invalid_token, text)
        return SendResult(Verdict.retry, text)

    async def close(self) -> None:
        self.client.pool.close()
