"""The real backend in its own process, as a clinic runs it: migrated, demo-seeded, served by
uvicorn on 127.0.0.1. Used by the client and browser tests and by the benchmarks."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import httpx

from backend.core.config import PROJECT_ROOT

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
TEST_ENCRYPTION_KEYS = '{"t1": "dGVzdC1lbmNyeXB0aW9uLWtleS0wMTIzNDU2Nzg5YWI="}'
# One fixed key for every test process and every server they start, so all read the same
# ciphertext (the development key file would race between processes on a clean checkout).
os.environ.setdefault("ENCRYPTION_KEYS", TEST_ENCRYPTION_KEYS)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(
    url: str, *, timeout: float = 30.0, process: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def stop_process(process: subprocess.Popen) -> None:
    """Ask a server to stop; kill it if it has not within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@contextmanager
def running_api(database_url: str) -> Iterator[str]:
    """Migrate and seed `database_url`, serve it on a free port; yields the base URL and stops
    the server on exit."""
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET, "ENV": "test"}
    for step in ("migrate", "seed"):
        subprocess.run(
            [sys.executable, "-m", "backend", step],
            env=env,
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "backend.main:app", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--no-access-log", "--log-level", "warning"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", process=process)
        yield url
    finally:
        stop_process(process)


def prepare_database(database_url: str) -> None:
    """Migrate and seed `database_url` with the demo organization (what `running_api` does
    before it serves), for tests that start their own servers on it."""
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET, "ENV": "test"}
    for step in ("migrate", "seed"):
        subprocess.run(
            [sys.executable, "-m", "backend", step],
            env=env,
            cwd=PROJECT_ROOT,
            check=True,
            capture_output=True,
            timeout=120,
        )


def start_api(
    database_url: str,
    *,
    port: int | None = None,
    extra_env: dict[str, str | None] | None = None,
    stderr: int | IO[bytes] | None = None,
) -> tuple[subprocess.Popen, str]:
    """Serve an already prepared database in a new uvicorn process; returns the process and its
    base URL once /health answers. `extra_env` adds variables (a None value removes one, e.g.
    `{"REDIS_URL": None}`); `stderr` takes the server's log (inherited by default). Several
    processes may serve the same database; the caller stops each with `stop_process` (or
    kills it)."""
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": TEST_SECRET, "ENV": "test"}
    for name, value in (extra_env or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    port = port or free_port()
    command = [sys.executable, "-m", "uvicorn", "backend.main:app", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--no-access-log", "--log-level", "warning"],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", process=process)
    except BaseException:
        stop_process(process)
        raise
    return process, url
