"""A fake FCM HTTP v1 with its own OAuth token endpoint, on 127.0.0.1 in a thread of its own.

`POST /token` checks the service account's RS256 assertion (signature, kid, iss, aud, scope,
iat/exp) and hands out an access token; `POST /v1/projects/<project>/messages:send` requires
one, records the message and answers as scripted: 404 UNREGISTERED for `unregistered` tokens,
400 INVALID_ARGUMENT for `bad_tokens`, or the next N answers from `fail_next` (with an optional
Retry-After). Failed checks are kept in `problems`.
"""

import json
import secrets
import threading
import time
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

from tests.fakes.credentials import FCM_CLIENT_EMAIL, FCM_PROJECT

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
"""google-auth signs for Google's token endpoint whatever the file's token_uri says, as Google
expects; the fake checks exactly that."""


@dataclass
class FCMRequest:
    message: dict[str, Any]
    received_at: float
    status: int = 200
    raw: bytes = b""


@dataclass
class _Scripted:
    status: int
    code: str
    retry_after: str | None


@dataclass
class FakeFCM:
    delay: float = 0.0
    requests: list[FCMRequest] = field(default_factory=list)
    token_requests: int = 0
    problems: list[str] = field(default_factory=list)
    unregistered: set[str] = field(default_factory=set)
    bad_tokens: set[str] = field(default_factory=set)
    public_key_pem: bytes = b""
    key_id: str = ""
    port: int = 0

    def __post_init__(self) -> None:
        self._script: deque[_Scripted] = deque()
        self._lock = threading.Lock()
        self._tokens: set[str] = set()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    @property
    def endpoint(self) -> str:
        """What FCM_ENDPOINT is set to."""
        return f"{self.base_url}/v1/projects"

    def fail_next(
        self,
        count: int,
        status: int = 503,
        code: str = "UNAVAILABLE",
        retry_after: str | None = None,
    ) -> None:
        with self._lock:
            self._script.extend(_Scripted(status, code, retry_after) for _ in range(count))

    def delivered(self) -> list[FCMRequest]:
        return [r for r in self.requests if r.status == 200]

    def bind(self) -> "FakeFCM":
        """Take a port (the token_uri must be known to write the service account)."""
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        return self

    def start(self, public_key_pem: bytes, key_id: str) -> "FakeFCM":
        self.public_key_pem, self.key_id = public_key_pem, key_id
        if self._server is None:
            self.bind()
        threading.Thread(target=self._server.serve_forever, name="fake-fcm", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- answering ----------------------------------------------------------------------------

    def issue_token(self, form: dict[str, list[str]]) -> tuple[int, dict]:
        self.token_requests += 1
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            self.problems.append(f"wrong grant_type {form.get('grant_type')}")
            return 400, {"error": "unsupported_grant_type"}
        assertion = (form.get("assertion") or [""])[0]
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                self.public_key_pem,
                algorithms=["RS256"],
                audience=GOOGLE_TOKEN_AUDIENCE,
                options={"require": ["iss", "aud", "iat", "exp"]},
            )
        except jwt.PyJWTError as exc:
            self.problems.append(f"bad assertion: {exc}")
            return 400, {"error": "invalid_grant"}
        if header.get("kid") != self.key_id or claims.get("iss") != FCM_CLIENT_EMAIL:
            self.problems.append(f"assertion for someone else: {header} {claims.get('iss')}")
            return 400, {"error": "invalid_grant"}
        if SCOPE not in str(claims.get("scope", "")).split():
            self.problems.append(f"wrong scope {claims.get('scope')}")
            return 400, {"error": "invalid_scope"}
        token = "ya29." + secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def send(self, path: str, authorization: str, body: bytes):
        if path != f"/v1/projects/{FCM_PROJECT}/messages:send":
            self.problems.append(f"wrong path {path}")
            return 404, {"error": {"code": 404, "status": "NOT_FOUND"}}, {}
        if authorization.removeprefix("Bearer ") not in self._tokens:
            self.problems.append("send without a valid access token")
            return 401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}}, {}
        try:
            message = json.loads(body)["message"]
        except (ValueError, KeyError):
            return 400, _error(400, "INVALID_ARGUMENT"), {}
        token = message.get("token", "")
        with self._lock:
            scripted = self._script.popleft() if self._script else None
        if scripted is None and token in self.unregistered:
            scripted = _Scripted(404, "UNREGISTERED", None)
        elif scripted is None and token in self.bad_tokens:
            scripted = _Scripted(400, "INVALID_ARGUMENT", None)
        status = scripted.status if scripted else 200
        self.requests.append(FCMRequest(message, time.time(), status, body))
        if self.delay:
            time.sleep(self.delay)
        if scripted is None:
            return 200, {"name": f"projects/{FCM_PROJECT}/messages/{secrets.token_hex(8)}"}, {}
        headers = {"Retry-After": scripted.retry_after} if scripted.retry_after else {}
        return status, _error(status, scripted.code), headers


def _error(status: int, code: str) -> dict:
    names = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED"}
    return {
        "error": {
            "code": status,
            "message": code,
            "status": names.get(status, "UNAVAILABLE" if status >= 500 else code),
            "details": [
                {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": code}
            ],
        }
    }


class _Handler(BaseHTTPRequestHandler):
    owner: FakeFCM
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if self.path == "/token":
            status, answer = self.owner.issue_token(urllib.parse.parse_qs(body.decode()))
            headers: dict[str, str] = {}
        else:
            status, answer, headers = self.owner.send(
                self.path, self.headers.get("Authorization", ""), body
            )
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
