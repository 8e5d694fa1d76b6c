"""The application factory: configuration, database, middleware, routers."""

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

import backend.models  # noqa: F401  (registers every table)
from backend.assessments.routes import router as assessments_router
from backend.audit.routes import router as audit_router
from backend.careplans.reminders import start_inline_scheduler
from backend.careplans.routes import router as careplans_router
from backend.careteam.routes import router as careteam_router
from backend.core.config import ConfigError, Settings, get_settings
from backend.core.db import Database
from backend.core.errors import install_error_handlers
from backend.core.health import create_redis
from backend.core.health import router as health_router
from backend.core.middleware import BodySizeLimit, SecurityHeaders
from backend.education.routes import router as education_router
from backend.identity.routes import auth_router
from backend.identity.routes import router as accounts_router
from backend.messaging.routes import router as messaging_router
from backend.notifications.routes import router as notifications_router
from backend.notifications.runner import start_inline_dispatcher
from backend.patients.routes import router as patients_router
from backend.realtime.hub import Hub
from backend.realtime.routes import router as realtime_router

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database(settings.database_url)
        app.state.redis = create_redis(settings.redis_url)
        await app.state.hub.start(app.state.redis)
        push = await start_inline_dispatcher(app.state.db, settings)
        reminders = await start_inline_scheduler(app.state.db, settings)
        try:
            yield
        finally:
            await reminders.stop()
            await push.stop()
            await app.state.hub.stop()
            if app.state.redis is not None:
                await app.state.redis.aclose()
            await app.state.db.dispose()

    # FastAPIOffline serves Swagger UI and ReDoc from the package, not a CDN: /docs works in a
    # clinic network without internet access.
    app = FastAPIOffline(
        title="CareCircle API",
        version="0.1.0",
        description="Secure messaging, assessments, care plans and education for care teams.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.hub = Hub()
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        large_paths=("/attachments",),
        large_max_bytes=settings.max_attachment_bytes,
    )

    api = APIRouter(prefix=API_PREFIX)
    for router in (
        auth_router,
        accounts_router,
        patients_router,
        careteam_router,
        notifications_router,
        messaging_router,
        assessments_router,
        careplans_router,
        education_router,
        realtime_router,
        audit_router,
    ):
        api.include_router(router)
    app.include_router(api)
    app.include_router(health_router)
    return app


def __getattr__(name: str) -> FastAPI:
    """`uvicorn backend.main:app` builds the app on first access, so importing this module
    (tests, Alembic) does not read the environment."""
    if name == "app":
        try:
            return create_app()
        except ConfigError as exc:
            print(f"carecircle: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
    raise AttributeError(name)
