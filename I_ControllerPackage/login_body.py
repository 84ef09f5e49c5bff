"""/login accepts JSON or the OAuth2 password form, and the password-recovery routes JSON or
their pages' forms; this parses either into one model."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from C_SchemaPackage.request import LoginForm, LoginRequest
from I_ControllerPackage.request_guard import FORM_CONTENT_TYPES, media_type

Model = TypeVar("Model", bound=BaseModel)


def json_or_form_body(json_model: type[BaseModel], form_model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads JSON or a form itself (so FastAPI does
    not describe it): the schemas inline, each complete."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": json_model.model_json_schema()},
                "application/x-www-form-urlencoded": {"schema": form_model.model_json_schema()},
            },
        }
    }


LOGIN_OPENAPI_BODY = json_or_form_body(LoginRequest, LoginForm)


def _validation_error(kind: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": ("body",), "msg": message}])


async def read_json_or_form(
    request: Request, json_model: type[Model], form_model: type[BaseModel] | None = None
) -> tuple[Model, bool]:
    """The body as `json_model`, from JSON or a form (validated as `form_model` first, when
    given); and whether it came as a form. Any problem is a 422 like FastAPI's own."""
    try:
        if media_type(request.headers.get("content-type", "")) in FORM_CONTENT_TYPES:
            form = await request.form()
            fields = {key: value for key, value in form.items() if isinstance(value, str)}
            checked = (form_model or json_model).model_validate(fields)
            values = {name: getattr(checked, name) for name in json_model.model_fields}
            return json_model.model_validate(values), True
        raw = await request.body()
        if not raw:
            raise _validation_error("missing", "Field required")
        try:
            payload = json.loads(raw)
        except (UnicodeDecodeError, ValueError, RecursionError) as error:
            raise _validation_error("json_invalid", "JSON decode error") from error
        return json_model.model_validate(payload), False
    except ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors()]
        ) from None


async def read_login_body(request: Request) -> LoginRequest:
    """The sign-in fields from a JSON body or an OAuth2 form (grant_type optional)."""
    credentials, _ = await read_json_or_form(request, LoginRequest, LoginForm)
    return credentials
