"""Does a burst of sign-ins stall everything else?

Starts the real API (uvicorn on 127.0.0.1) on SQLite and on PostgreSQL, then measures the
latency of GET /health and of an authenticated GET /me, first with no other load (the baseline,
in the same run) and then while a burst of concurrent logins is in flight. Argon2 runs in a
worker thread pool, so the loop should keep answering; the ratio of loaded to baseline latency
says how well. Every loop is bounded in count and in time.

    python bench/login_burst.py [--logins 64] [--concurrency 8] [--databases sqlite postgresql]
"""

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.demo.data import DEMO_PASSWORD  # noqa: E402
from tests.live_server import running_api  # noqa: E402
from tests.services import create_postgres_database, drop_postgres_database  # noqa: E402

STAFF = "maria.lopez@riverside.example"
ACCOUNTS = [
    f"{name}@riverside.example"
    for name in (
        "james.carter",
        "aisha.khan",
        "samuel.okafor",
        "robert.johnson",
        "maria.rivera",
        "linda.johnson",
        "carlos.rivera",
        "grace.kim",
        "tom.nguyen",
        "admin",
    )
]
TIME_LIMIT = 60.0


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _probe(
    client: httpx.AsyncClient, path: str, headers: dict, count: int, stop: asyncio.Event | None
) -> list[float]:
    latencies = []
    deadline = time.monotonic() + TIME_LIMIT
    for _ in range(count):
        if (stop is not None and stop.is_set()) or time.monotonic() > deadline:
            break
        start = time.perf_counter()
        response = await client.get(path, headers=headers)
        latencies.append((time.perf_counter() - start) * 1000)
        response.raise_for_status()
        await asyncio.sleep(0.005)
    return latencies


async def _burst(client: httpx.AsyncClient, logins: int, concurrency: int) -> tuple[float, int]:
    semaphore = asyncio.Semaphore(concurrency)
    failures = 0

    async def one(n: int) -> None:
        nonlocal failures
        async with semaphore:
            response = await client.post(
                "/api/v1/auth/login",
                json={"email": ACCOUNTS[n % len(ACCOUNTS)], "password": DEMO_PASSWORD},
            )
            failures += response.status_code != 200

    start = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(logins))), TIME_LIMIT)
    return time.perf_counter() - start, failures


async def _measure(url: str, logins: int, concurrency: int) -> dict[str, float]:
    limits = httpx.Limits(max_connections=concurrency + 4)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        token = (
            await client.post(
                "/api/v1/auth/login", json={"email": STAFF, "password": DEMO_PASSWORD}
            )
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        base_health = await _probe(client, "/health", {}, 200, None)
        base_me = await _probe(client, "/api/v1/me", auth, 100, None)

        stop = asyncio.Event()
        burst = asyncio.create_task(_burst(client, logins, concurrency))
        burst.add_done_callback(lambda _: stop.set())
        health, me = await asyncio.gather(
            _probe(client, "/health", {}, 10_000, stop),
            _probe(client, "/api/v1/me", auth, 10_000, stop),
        )
        seconds, failures = await burst
    return {
        "logins_per_s": logins / seconds,
        "login_failures": failures,
        "health_p50_base": statistics.median(base_health),
        "health_p99_base": _quantile(base_health, 0.99),
        "health_p50_load": statistics.median(health),
        "health_p99_load": _quantile(health, 0.99),
        "me_p50_base": statistics.median(base_me),
        "me_p50_load": statistics.median(me),
        "me_p99_load": _quantile(me, 0.99),
        "probes_under_load": len(health) + len(me),
    }


def _run_one(database: str, logins: int, concurrency: int) -> dict[str, float]:
    tmp = Path(tempfile.mkdtemp(prefix="cc-bench-"))
    pg_url = None
    if database == "sqlite":
        database_url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    else:
        database_url = pg_url = create_postgres_database()
    try:
        with running_api(database_url) as url:
            return asyncio.run(_measure(url, logins, concurrency))
    finally:
        if pg_url:
            drop_postgres_database(pg_url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--logins", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    print(f"login burst: {args.logins} logins, {args.concurrency} in flight (latencies in ms)")
    for database in args.databases:
        r = _run_one(database, args.logins, args.concurrency)
        print(
            f"{database:<11} logins/s {r['logins_per_s']:6.1f} "
            f"failures {r['login_failures']:.0f}  "
            f"| /health p50 {r['health_p50_base']:.1f} -> {r['health_p50_load']:.1f} "
            f"(x{r['health_p50_load'] / r['health_p50_base']:.1f}), "
            f"p99 {r['health_p99_base']:.1f} -> {r['health_p99_load']:.1f} "
            f"| /me p50 {r['me_p50_base']:.1f} -> {r['me_p50_load']:.1f} "
            f"(x{r['me_p50_load'] / r['me_p50_base']:.1f}), p99 under load {r['me_p99_load']:.1f} "
            f"| {r['probes_under_load']:.0f} probes during the burst"
        )


if __name__ == "__main__":
    main()
