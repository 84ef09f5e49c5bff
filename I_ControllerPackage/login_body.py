"""/login accepts JSON or the OAuth2 password form; this parses either into one model."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from C_SchemaPackage.request import LoginForm, LoginRequest
from I_ControllerPackage.request_guard import FORM_CONTENT_TYPES, media_type

LOGIN_OPENAPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/LoginRequest"}},
            "application/x-www-form-urlencoded": {
                "schema": {"$ref": "#/components/schemas/LoginForm"}
            },
        },
    }
}


def _validation_error(kind: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": ("body",), "msg": message}])


async def read_login_body(request: Request) -> LoginRequest:
    """The sign-in fields from a JSON body or an OAuth2 form (grant_type optional)."""
    try:
        if media_type(request.headers.get("content-type", "")) in FORM_CONTENT_TYPES:
            form = await request.form()
            fields = {key: value for key, value in form.items() if isinstance(value, str)}
            parsed = LoginForm.model_validate(fields)
            return LoginRequest(username=parsed.username, password=parsed.password)
        raw = await request.body()
        if not raw:
            raise _validation_error("missing", "Field required")
        try:
            payload = json.loads(raw)
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise _validation_error("json_invalid", "JSON decode error") from error
        return LoginRequest.model_validate(payload)
    except ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors()]
        ) from None
