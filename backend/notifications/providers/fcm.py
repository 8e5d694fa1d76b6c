"""Firebase Cloud Messaging HTTP v1, through `pyfcm`.

pyfcm is synchronous (requests), so every send runs in a thread pool. Its credentials come
from the service-account JSON (google-auth signs an RS256 assertion and trades it at the file's
`token_uri` for an OAuth access token, cached per thread for 30 minutes). Two of pyfcm's own
behaviours are switched off because the outbox does them better: urllib3's automatic retries
on 502/503 and the `time.sleep(Retry-After)` inside `send_request`, which would block a worker
thread and hide the provider's answer. One request is made per send; the dispatcher schedules
the retry, honouring Retry-After.
"""

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from pyfcm import FCMNotification
from requests.adapters import HTTPAdapter

from backend.core.config import Settings
from backend.notifications.payloads import PushMessage
from backend.notifications.providers import SendResult, Verdict, parse_retry_after

log = logging.getLogger(__name__)

TOKEN_GONE_CODES = {"UNREGISTERED", "INVALID_ARGUMENT"}


class _FCMClient(FCMNotification):
    def __init__(self, service_account_file: str, endpoint_base: str | None, pool: int) -> None:
        super().__init__(
            service_account_file=service_account_file,
            adapter=HTTPAdapter(max_retries=0, pool_connections=1, pool_maxsize=pool),
        )
        if endpoint_base:
            self.FCM_END_POINT_BASE = endpoint_base.rstrip("/")
        # pyfcm loads the credentials lazily and unguarded; two threads doing it at once race.
        self._initialize_credentials()
        self._token_lock = threading.Lock()

    def _get_access_token(self) -> str:
        with self._token_lock:
            if not self.credentials.valid:
                return super()._get_access_token()
            return self.credentials.token

    def send_once(self, payload: bytes, timeout: float) -> requests.Response:
        response = self.requests_session.post(self.fcm_end_point, data=payload, timeout=timeout)
        if self._is_access_token_expired(response):
            self.thread_local.token_expiry = 0
            response = self.requests_session.post(self.fcm_end_point, data=payload, timeout=timeout)
        return response


def fcm_options(message: PushMessage) -> dict:
    """Keyword arguments for pyfcm's `parse_payload`."""
    data = {**message.data(), "badge": str(message.badge)}
    android: dict = {
        "priority": "high" if message.urgent else "normal",
        "notification": {
            "notification_count": message.badge,
            "channel_id": "urgent" if message.urgent else "default",
        },
    }
    if message.collapse_key:
        android["collapse_key"] = message.collapse_key
        android["notification"]["tag"] = message.collapse_key
    return {
        "notification_title": message.title,
        "notification_body": message.body,
        "data_payload": data,
        "android_config": android,
    }


def _error_codes(response: requests.Response) -> set[str]:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return set()
    codes = {str(error.get("status", ""))}
    for detail in error.get("details", []) or []:
        if isinstance(detail, dict) and detail.get("errorCode"):
            codes.add(str(detail["errorCode"]))
    return codes - {""}


def classify(response: requests.Response) -> SendResult:
    status = response.status_code
    if status == 200:
        return SendResult(Verdict.delivered)
    codes = _error_codes(response)
    text = f"FCM {status} {','.join(sorted(codes))}".strip()
    if status == 404 or codes & TOKEN_GONE_CODES:
        return SendResult(Verdict.invalid_token, text)
    return SendResult(
        Verdict.retry, text, retry_after=parse_retry_after(response.headers.get("Retry-After"))
    )


class FCMProvider:
    platform = "android"

    def __init__(self, settings: Settings) -> None:
        self.timeout = settings.push_send_timeout_seconds
        self.pool = ThreadPoolExecutor(
            max_workers=settings.push_concurrency, thread_name_prefix="fcm-send"
        )
        self.client = _FCMClient(
            settings.fcm_service_account_path or "",
            settings.fcm_endpoint,
            settings.push_concurrency,
        )

    def _send(self, token: str, message: PushMessage) -> SendResult:
        payload = self.client.parse_payload(fcm_token=token, **fcm_options(message))
        try:
            response = self.client.send_once(payload, self.timeout)
        except requests.Timeout:
            return SendResult(Verdict.retry, "FCM: timed out")
        except requests.RequestException as exc:
            return SendResult(Verdict.retry, f"FCM: connection failed ({type(exc).__name__})")
        except Exception as exc:  # google-auth could not get an access token
            log.warning("FCM credentials failed: %s", type(exc).__name__)
            return SendResult(Verdict.retry, f"FCM: credentials failed ({type(exc).__name__})")
        return classify(response)

    async def send(self, token: str, message: PushMessage) -> SendResult:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, self._send, token, message)

    async def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
