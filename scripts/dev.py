"""`make run`: migrate, seed the demo organization, start the API and the web client, print
where to go and how to sign in. Ctrl-C stops both."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
API_PORT = int(os.environ.get("API_PORT", "8000"))
WEB_PORT = int(os.environ.get("WEB_PORT", "8550"))
HOST = "127.0.0.1"


def _wait(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{url} did not start (exit {process.returncode}); see the lines above.")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    sys.exit(f"{url} did not answer within {seconds:.0f} s")


def main() -> None:
    python = sys.executable
    for step in (["migrate"], ["seed"]):
        result = subprocess.run(
            [python, "-m", "backend", *step], cwd=ROOT, capture_output=True, text=True
        )
        if result.returncode != 0:
            sys.exit(result.stderr.strip() or result.stdout.strip())
        logins = result.stdout
    api_url = f"http://{HOST}:{API_PORT}"
    api = subprocess.Popen(
        [python, "-m", "uvicorn", "backend.main:app", "--host", HOST, "--port", str(API_PORT)],
        cwd=ROOT,
    )
    env = {**os.environ, "CARECIRCLE_API_URL": api_url}
    web = subprocess.Popen(
        [python, "-m", "mobile_app", "--host", HOST, "--port", str(WEB_PORT), "--api-url", api_url],
        cwd=ROOT,
        env=env,
    )
    try:
        _wait(f"{api_url}/health", api)
        _wait(f"http://{HOST}:{WEB_PORT}/", web)
        print(logins)
        print(f"API:        {api_url}   (interactive docs: {api_url}/docs)")
        print(f"Web client: http://{HOST}:{WEB_PORT}")
        print("Press Ctrl-C to stop.\n", flush=True)
        while api.poll() is None and web.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in (web, api):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in (web, api):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
