"""Pure ASGI middleware: request body cap and response headers for PHI.

Pure ASGI (not BaseHTTPMiddleware) so websockets and streaming pass through untouched.
"""

import contextlib
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.core.errors import error_response


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse bodies over `max_bytes` with 413 before the app reads them; chunked bodies
    without a Content-Length are counted as they arrive."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        large_paths: tuple[str, ...] = (),
        large_max_bytes: int = 0,
    ) -> None:
        """`large_paths`: path suffixes (e.g. `/attachments`) that take up to
        `large_max_bytes`, for file uploads; every other request keeps `max_bytes`."""
        self.app = app
        self.default_max = max_bytes
        self.large_paths = large_paths
        self.large_max = max(large_max_bytes, max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        large = scope["method"] == "POST" and scope["path"].endswith(self.large_paths or ("\0",))
        max_bytes = self.large_max if large else self.default_max
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                await error_response(400, "bad_content_length", "Content-Length is not a number.")(
                    scope, receive, send
                )
                return
            if size > max_bytes:
                await self._too_large(scope, receive, send, max_bytes)
                return
        received = 0
        started = False
        too_large = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    too_large = True
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if too_large and not started:
                # The app caught the cut-off read and answers it its own way (FastAPI: 400
                # "error parsing the body"); the 413 below replaces that answer.
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(_BodyTooLarge):
            await self.app(scope, counting_receive, tracking_send)
        if too_large and not started:
            await self._too_large(scope, receive, send, max_bytes)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        mib = 1024 * 1024
        words = f"{limit / mib:g} MB" if limit >= mib else f"{limit // 1024} KiB"
        await error_response(413, "payload_too_large", f"The request body is larger than {words}.")(
            scope, receive, send
        )


class SecurityHeaders:
    """API answers carry PHI: never cache them, never let a browser sniff their type."""

    HEADERS: list[tuple[bytes, bytes]] = [
        (b"cache-control", b"no-store"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    ]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                existing = {name for name, _ in message.get("headers", [])}
                extra = [h for h in self.HEADERS if h[0] not in existing]
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        await self.app(scope, receive, with_headers)
