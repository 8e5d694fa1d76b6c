"""The API documents itself: every operation has a response model, its error shape, and the
interactive docs load without a CDN."""

import httpx
import pytest

from backend.main import create_app
from tests.conftest import make_settings

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema() -> dict:
    return create_app(make_settings("sqlite+aiosqlite:///unused.db")).openapi()


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


FILE_DOWNLOADS = {
    ("GET", "/api/v1/conversations/{conversation_id}/attachments/{attachment_id}"): (
        "application/octet-stream"
    ),
}
"""Operations that answer with a file's bytes instead of JSON."""


def test_every_operation_documents_success_and_error_bodies(schema: dict) -> None:
    problems = []
    for method, path, operation in _operations(schema):
        responses = operation["responses"]
        success = [code for code in responses if code.startswith("2")]
        if not success:
            problems.append(f"{method} {path}: no 2xx response")
            continue
        code = success[0]
        content = responses[code].get("content", {})
        binary = FILE_DOWNLOADS.get((method, path))
        if binary is not None:
            if binary not in content:
                problems.append(f"{method} {path}: file download must document {binary}")
        elif code != "204" and "application/json" not in content:
            problems.append(f"{method} {path}: {code} has no JSON response model")
        if path.startswith("/health"):
            continue  # probes for load balancers: no input, no refusals
        if "422" not in responses:
            problems.append(f"{method} {path}: validation error body not documented")
        if "403" not in responses:
            problems.append(f"{method} {path}: refusal body not documented")
        if not operation.get("description") and not operation.get("summary"):
            problems.append(f"{method} {path}: no description")
    assert not problems, "\n".join(problems)


def test_every_request_body_has_an_example(schema: dict) -> None:
    components = schema["components"]["schemas"]
    missing = []
    for method, path, operation in _operations(schema):
        body = operation.get("requestBody")
        if body is None:
            continue
        if "application/json" not in body["content"]:
            raw = body["content"].get("application/octet-stream", {}).get("schema", {})
            if raw.get("format") != "binary":
                missing.append(f"{method} {path} (neither JSON nor a documented binary upload)")
            continue
        ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        model = components[ref]
        has_example = "examples" in model or all(
            "examples" in prop or "default" in prop for prop in model.get("properties", {}).values()
        )
        if not has_example:
            missing.append(f"{method} {path} ({ref})")
    assert not missing, "request bodies without an example: " + ", ".join(missing)


async def test_docs_are_served_without_a_cdn() -> None:
    app = create_app(make_settings("sqlite+aiosqlite:///unused.db"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await client.get("/docs")
        assert page.status_code == 200
        assert "cdn.jsdelivr.net" not in page.text
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
            assert f"/static-offline-docs/{asset}" in page.text
            response = await client.get(f"/static-offline-docs/{asset}")
            assert response.status_code == 200 and len(response.content) > 10_000
        spec = await client.get("/openapi.json")
        assert spec.status_code == 200 and spec.json()["info"]["title"] == "CareCircle API"
