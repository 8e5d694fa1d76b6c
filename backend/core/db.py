"""Engines and sessions. One transaction per request, committed once at the edge.

Services only `flush`; `get_session` commits after the handler returns (or rolls back when it
raises), so a request either lands whole or not at all. Audit entries queued during the request
are chained and written inside that same commit (see `backend.audit.chain`).
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from backend.core.errors import AppError


@dataclass(frozen=True, slots=True)
class RequestContext:
    """Where a request came from, for the audit trail."""

    ip: str | None = None
    user_agent: str | None = None

    @classmethod
    def from_request(cls, request: Request) -> "RequestContext":
        agent = request.headers.get("user-agent")
        return cls(
            ip=request.client.host if request.client else None,
            user_agent=agent[:300] if agent else None,
        )


def _configure_sqlite(engine: AsyncEngine) -> None:
    """SQLite allows one writer at a time. Every request writes (at least an audit entry), so a
    transaction takes the write lock when it begins (BEGIN IMMEDIATE) instead of failing with
    SQLITE_BUSY when a read tries to turn into a write; WAL keeps other readers going."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    # Statement parameters are patient data: keep them out of SQL logging and of the text of
    # database errors, should either ever reach a log.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        # aiosqlite logs every call with its arguments at DEBUG (names, answers): never.
        logging.getLogger("aiosqlite").setLevel(logging.INFO)
        # One connection per process: transactions queue for it in order (an asyncio wait)
        # instead of several connections polling SQLite's busy handler with growing sleeps.
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        kwargs.setdefault("pool_timeout", 30)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


class Database:
    """The engine and session factory an app (or a CLI command) works with."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        from backend.audit.chain import install_chain_hooks

        install_chain_hooks()
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    def session(self, context: RequestContext | None = None) -> AsyncSession:
        session = self.sessionmaker()
        session.info["context"] = context or RequestContext()
        return session

    async def dispose(self) -> None:
        await self.engine.dispose()


AfterCommit = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, action: AfterCommit) -> None:
    """Run `action` once the session's transaction has committed (and never if it rolls back):
    e.g. fan a stored message out to websockets, which must not happen for a message that was
    not stored."""
    session.info.setdefault("after_commit", []).append(action)


async def commit(session: AsyncSession) -> None:
    """Commit, then run what `after_commit` queued. A failing action is logged, not raised:
    the data is stored, and clients catch up by resync."""
    await session.commit()
    actions: list[AfterCommit] = session.info.pop("after_commit", [])
    for action in actions:
        try:
            await action()
        except Exception:
            logging.getLogger(__name__).exception("after-commit action failed")


async def rollback(session: AsyncSession) -> None:
    session.info.pop("after_commit", None)
    await session.rollback()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    db: Database = request.app.state.db
    async with db.session(RequestContext.from_request(request)) as session:
        # Services that must tell live sockets about a change (a revoked session, a changed
        # care team) find this process's hub here.
        session.info["hub"] = getattr(request.app.state, "hub", None)
        try:
            yield session
        except AppError as exc:
            if exc.keep_changes:
                await commit(session)
            else:
                await rollback(session)
            raise
        except BaseException:
            await rollback(session)
            raise
        else:
            await commit(session)


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
"""The request's session; committed after the handler returns, before the response is sent."""
