"""One error shape for every failure, and the handlers that produce it.

Services raise `AppError` subclasses; nothing a client sends may surface as a 500. An error with
`keep_changes=True` still commits what the request wrote (a failed sign-in must count toward
lockout and leave an audit entry even though the answer is 401).
"""

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.schemas.common import ErrorBody

log = logging.getLogger("carecircle.errors")


class AppError(Exception):
    status_code = 400
    code = "bad_request"
    message = "The request could not be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        keep_changes: bool = False,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.fields = fields or []
        self.headers = headers
        self.keep_changes = keep_changes
        super().__init__(self.message)


class BadRequest(AppError):
    status_code = 400


class Unauthorized(AppError):
    status_code = 401
    code = "not_authenticated"
    message = "Sign in to continue."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"
    message = "You do not have permission to do this."


class NotFound(AppError):
    status_code = 404
    code = "not_found"
    message = "Not found."


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Gone(AppError):
    status_code = 410
    code = "gone"


class PayloadTooLarge(AppError):
    status_code = 413
    code = "payload_too_large"


class Unprocessable(AppError):
    status_code = 422
    code = "validation_error"


class Locked(AppError):
    status_code = 423
    code = "account_locked"


def error_response(
    status_code: int,
    code: str,
    message: str,
    fields: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody.model_validate(
        {"error": {"code": code, "message": message, "fields": fields or []}}
    )
    return JSONResponse(body.model_dump(), status_code=status_code, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _human_message(error: dict[str, Any]) -> str:
    """Pydantic's messages, phrased for the person who filled in the form."""
    kind = error.get("type", "")
    if kind == "missing":
        return "This field is required."
    if kind in ("model_attributes_type", "dict_type") and tuple(error.get("loc", ())) == ("body",):
        return "The request body must be a JSON object, sent with Content-Type: application/json."
    if kind == "json_invalid":
        reason = (error.get("ctx") or {}).get("error", "malformed JSON")
        return f"The request body is not valid JSON ({reason})."
    return str(error.get("msg", "Invalid value.")).removeprefix("Value error, ")


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return error_response(exc.status_code, exc.code, exc.message, exc.fields, exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        first = next(e for e in errors if e.get("type") == "json_invalid")
        return error_response(400, "malformed_json", _human_message(first))
    fields = [{"field": _field_path(e["loc"]), "message": _human_message(e)} for e in errors]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:3])
    return error_response(422, "validation_error", f"Some fields need attention: {summary}", fields)


_HTTP_CODES = {
    401: ("not_authenticated", "Sign in to continue."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This address does not accept that method."),
}


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        return error_response(
            400,
            "malformed_json",
            "The request body could not be read: send UTF-8 JSON that is not nested too deeply.",
        )
    code, default = _HTTP_CODES.get(exc.status_code, ("http_error", "The request failed."))
    message = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 else default
    return error_response(exc.status_code, code, message, headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """Our fault, never the client's. Logged by type and reference only: no bodies, no PHI."""
    reference = uuid.uuid4().hex[:12]
    log.error(
        "unhandled %s on %s %s (ref %s)",
        type(exc).__name__,
        request.method,
        request.url.path,
        reference,
    )
    return error_response(
        500,
        "internal_error",
        f"Something went wrong on our side. Try again; if it keeps happening, quote {reference}.",
    )


async def _unstorable_value(request: Request, exc: Exception) -> JSONResponse:
    """PostgreSQL refused a value validation let through (SQLSTATE class 22, "data exception":
    a NUL character, a number out of range, text longer than its column). That is the client's
    data, so a 422; any other database error is still ours and goes on to the 500 handler."""
    assert isinstance(exc, DBAPIError)
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
    if not sqlstate.startswith("22"):
        return await _unexpected_error(request, exc)
    log.warning(
        "refused a value the database cannot store (SQLSTATE %s) on %s %s",
        sqlstate,
        request.method,
        request.url.path,
    )
    return error_response(
        422,
        "invalid_value",
        "A value in this request cannot be stored: it is too long, out of range, or contains "
        "a character that is not allowed (such as NUL). Check what you entered and try again.",
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DBAPIError, _unstorable_value)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": description}
    for code, description in {
        400: "Malformed request",
        401: "Not signed in, or the token expired or was revoked",
        403: "Signed in, but not allowed",
        404: "No such thing, or not visible to you",
        413: "Request body too large",
        422: "A field is missing or invalid",
    }.items()
}
"""Documented on every route so the OpenAPI schema shows the error body."""
