"""Where the client finds the API and how it serves itself, read once from the environment.

Kept apart from `main.py` so tests and tools can build the same settings the app uses without
starting a Flet server.
"""

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_WEB_HOST = "127.0.0.1"
DEFAULT_WEB_PORT = 8550
MAX_IDLE_LOCK_SECONDS = 5 * 60
MIN_IDLE_LOCK_SECONDS = 10


@dataclass(frozen=True, slots=True)
class ClientSettings:
    api_url: str
    host: str
    port: int
    idle_lock_seconds: int = MAX_IDLE_LOCK_SECONDS
    """Never longer than five minutes; an organization (or a demo) may choose shorter."""


def load_settings(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> ClientSettings:
    """Combine command-line flags with the environment; flags win because they are explicit."""
    env = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="python -m mobile_app", description="CareCircle client")
    parser.add_argument(
        "--web",
        action="store_true",
        help="serve the app to browsers (the default and, until flet-desktop is pinned, the "
        "only mode)",
    )
    parser.add_argument("--host", default=env.get("CARECIRCLE_WEB_HOST", DEFAULT_WEB_HOST))
    parser.add_argument(
        "--port", type=int, default=int(env.get("CARECIRCLE_WEB_PORT", DEFAULT_WEB_PORT))
    )
    parser.add_argument("--api-url", default=env.get("CARECIRCLE_API_URL", DEFAULT_API_URL))
    parser.add_argument(
        "--idle-lock-seconds",
        type=int,
        default=int(env.get("CARECIRCLE_IDLE_LOCK_SECONDS", MAX_IDLE_LOCK_SECONDS)),
        help=f"lock after this many idle seconds ({MIN_IDLE_LOCK_SECONDS}-{MAX_IDLE_LOCK_SECONDS})",
    )
    args = parser.parse_args(argv)
    idle = min(max(args.idle_lock_seconds, MIN_IDLE_LOCK_SECONDS), MAX_IDLE_LOCK_SECONDS)
    return ClientSettings(
        api_url=args.api_url.rstrip("/"), host=args.host, port=args.port, idle_lock_seconds=idle
    )
