"""A forgotten password: POST /password/forgot mails a link and a code; POST /password/reset
sets the new password with either. GET on both paths shows a small form page (the mailed
link opens one), whose POST answers a page too; JSON clients get JSON."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from fastapi.responses import HTMLResponse

from C_SchemaPackage.recovery_schemas import (
    AcceptedOut,
    ForgotPasswordRequest,
    MailRequest,
    NotMeRequest,
    ResetPasswordRequest,
)
from D_CustomExceptionPackage.errors import ServiceError
from D_CustomExceptionPackage.login_custom_exception_handling import status_for
from I_ControllerPackage.blocking import run_blocking
from I_ControllerPackage.dependencies import HashingLaneDep, RecoveryServiceDep
from I_ControllerPackage.login_body import json_or_form_body, read_json_or_form
from I_ControllerPackage.openapi_responses import error_responses
from I_ControllerPackage.recovery_pages import (
    forgot_page,
    message_page,
    not_me_page,
    reset_page,
)

router = APIRouter(tags=["recovery"])


HTML_PAGE = {"text/html": {"schema": {"type": "string"}}}


def with_pages(
    responses: dict[int | str, dict[str, Any]], *statuses: int
) -> dict[int | str, dict[str, Any]]:
    """`responses`, with the HTML page a page's form gets declared beside the JSON bodies for
    these statuses (the page's own success is a 200)."""
    declared = {status: dict(response) for status, response in responses.items()}
    for status_code in statuses:
        response = declared.setdefault(status_code, {"description": "A page (the form's POST)"})
        response["content"] = {**response.get("content", {}), **HTML_PAGE}
    return declared


@dataclass(frozen=True)
class PageWording:
    """What the page a form's POST answers says, done or refused."""

    done_title: str
    done_message: str
    refused_title: str
    done_status: int = status.HTTP_200_OK


async def answer(as_form: bool, action: Awaitable[None], wording: PageWording, json: Any) -> Any:
    """Run the action. A JSON client gets `json`, or the error through the usual handlers;
    a page's form gets a page either way."""
    try:
        await action
    except ServiceError as error:
        if not as_form:
            raise
        return message_page(wording.refused_title, error.detail, status_for(error))
    if as_form:
        return message_page(wording.done_title, wording.done_message, wording.done_status)
    return json


async def accept_mail_request(
    body: MailRequest,
    as_form: bool,
    admit: Callable[[str], None],
    send: Callable[[str], None],
    background: BackgroundTasks,
    accepted: str,
) -> Any:
    """202 with `accepted` for any address `admit` lets through (its rate limits); `send`
    looks the address up and mails after the answer is sent, so an unknown address answers
    exactly as fast as a known one."""

    async def admit_then_send() -> None:
        await run_blocking(admit, body.email)
        background.add_task(run_blocking, send, body.email)

    wording = PageWording("Check your mail", accepted, "Please wait", 202)
    return await answer(as_form, admit_then_send(), wording, AcceptedOut(detail=accepted))


FORGOT_ACCEPTED = (
    "If an account uses this address, a message with a link and a code is on its way. "
    "The link and the code work once, for a limited time."
)
RESET_DONE = "Your password has been changed, and every device signed in was signed out."
NOT_ME_DONE = (
    "Every device was signed out of the account. Now choose a new password: "
    "ask for a reset link at /password/forgot."
)


@router.get("/password/forgot", response_class=HTMLResponse, include_in_schema=False)
async def forgot_form() -> HTMLResponse:
    return forgot_page()


@router.post(
    "/password/forgot",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedOut,
    responses=with_pages(error_responses(413, 415, 422, 429), 202, 429, 503),
    openapi_extra=json_or_form_body(ForgotPasswordRequest, ForgotPasswordRequest),
    summary="Mail a reset link and code (202 whether or not the account exists)",
)
async def forgot_password(
    request: Request, service: RecoveryServiceDep, background: BackgroundTasks
) -> Any:
    body, as_form = await read_json_or_form(request, ForgotPasswordRequest)
    admit, send = service.admit_reset_request, service.request_reset
    return await accept_mail_request(body, as_form, admit, send, background, FORGOT_ACCEPTED)


@router.get("/password/reset", response_class=HTMLResponse, include_in_schema=False)
async def reset_form(
    token: str | None = Query(default=None, max_length=256),
) -> HTMLResponse:
    """Shows the form only: a GET never spends the token (mail scanners follow links)."""
    return reset_page(token)


@router.post(
    "/password/reset",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    response_model=None,
    responses=with_pages(error_responses(400, 413, 415, 422, 429), 200, 400, 422, 429, 503),
    openapi_extra=json_or_form_body(ResetPasswordRequest, ResetPasswordRequest),
    summary="Set a new password with the mailed token, or the email and code",
)
async def reset_password(
    request: Request, service: RecoveryServiceDep, lane: HashingLaneDep
) -> Any:
    body, as_form = await read_json_or_form(request, ResetPasswordRequest)

    async def reset() -> None:
        if body.token is not None:
            await run_blocking(service.reset_with_token, body.token, body.new_password, lane=lane)
        elif body.email is not None and body.code is not None:
            await run_blocking(
                service.reset_with_code, body.email, body.code, body.new_password, lane=lane
            )

    wording = PageWording("Password changed", RESET_DONE, "The password was not changed")
    return await answer(as_form, reset(), wording, Response(status_code=204))


@router.get("/account/not-me", response_class=HTMLResponse, include_in_schema=False)
async def not_me_form(
    token: str | None = Query(default=None, max_length=256),
) -> HTMLResponse:
    """Shows the button only: a GET never uses the link (mail scanners follow links)."""
    return not_me_page(token)


@router.post(
    "/account/not-me",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    response_model=None,
    responses=with_pages(error_responses(400, 413, 415, 422), 200, 400, 503),
    openapi_extra=json_or_form_body(NotMeRequest, NotMeRequest),
    summary='A security notice\'s "it was not me" link: sign every device out',
)
async def not_me(request: Request, service: RecoveryServiceDep) -> Any:
    body, as_form = await read_json_or_form(request, NotMeRequest)
    wording = PageWording("Every device was signed out", NOT_ME_DONE, "Nothing was changed")
    action = run_blocking(service.not_me, body.token)
    return await answer(as_form, action, wording, Response(status_code=204))
