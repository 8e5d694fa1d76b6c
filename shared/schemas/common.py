"""Shapes every endpoint shares: list pages and the error body."""

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A list response: the items and how many there are in all."""

    data: list[T]
    count: int


class CursorPage(BaseModel, Generic[T]):
    """A list that is read in pages; pass `next_cursor` back as `cursor` to read on."""

    data: list[T]
    next_cursor: str | None = None


class FieldError(BaseModel):
    field: str = Field(description="Where the problem is, e.g. `body.email`.")
    message: str


class ErrorDetail(BaseModel):
    code: str = Field(description="A stable machine-readable code, e.g. `invalid_credentials`.")
    message: str = Field(description="What went wrong and what to do about it, for a person.")
    fields: list[FieldError] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer has this body."""

    error: ErrorDetail

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "error": {
                        "code": "validation_error",
                        "message": "Some fields need attention.",
                        "fields": [{"field": "body.email", "message": "Enter a valid email."}],
                    }
                }
            ]
        }
    }
