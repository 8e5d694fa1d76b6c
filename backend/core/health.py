"""Liveness and readiness for load balancers and orchestrators."""

from typing import Literal

import redis.asyncio as aioredis
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

router = APIRouter(tags=["health"])

Check = Literal["ok", "unavailable", "not configured"]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    database: Check
    redis: Check


def create_redis(url: str | None) -> aioredis.Redis | None:
    """One client per process (it pools connections); None when REDIS_URL is not set, and the
    process then fans out in-process only."""
    return aioredis.from_url(url, socket_timeout=2, socket_connect_timeout=2) if url else None


@router.get("/health", response_model=Health)
async def health() -> Health:
    """Liveness: the process answers. Touches nothing else, so a slow database does not get
    healthy processes restarted."""
    return Health()


@router.get(
    "/health/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency is unreachable"}},
)
async def ready(request: Request) -> Readiness | JSONResponse:
    """Readiness: the database answers, and Redis too when it is configured. A load balancer
    sends traffic only to processes that are ready."""
    database: Check = "ok"
    try:
        async with request.app.state.db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception:  # any failure means "not ready"; the reason is not the caller's business
        database = "unavailable"
    redis: Check = "not configured"
    client: aioredis.Redis | None = getattr(request.app.state, "redis", None)
    if client is not None:
        try:
            await client.ping()
            redis = "ok"
        except Exception:
            redis = "unavailable"
    ok = database == "ok" and redis != "unavailable"
    body = Readiness(status="ready" if ok else "not ready", database=database, redis=redis)
    return body if ok else JSONResponse(body.model_dump(), status_code=503)
