"""Email verification: the link and code mailed at registration (or for a new address, by
PUT /update) are used at POST /email/verify; POST /email/verify/resend mails new ones. GET on
both paths shows a small form page (the mailed link opens one); JSON clients get JSON."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, status
from fastapi.responses import HTMLResponse

from C_SchemaPackage.email_schemas import (
    EmailVerifiedOut,
    ResendVerificationRequest,
    VerifyEmailRequest,
)
from C_SchemaPackage.recovery_schemas import AcceptedOut
from I_ControllerPackage.blocking import run_blocking
from I_ControllerPackage.dependencies import EmailAddressServiceDep
from I_ControllerPackage.email_pages import resend_page, verify_page
from I_ControllerPackage.login_body import json_or_form_body, read_json_or_form
from I_ControllerPackage.openapi_responses import error_responses
from I_ControllerPackage.recovery_routes import (
    PageWording,
    accept_mail_request,
    answer,
    with_pages,
)

router = APIRouter(tags=["email"])

RESEND_ACCEPTED = (
    "If an account with an unconfirmed address uses this one, a message with a link and a "
    "code is on its way. The link and the code work once, for a limited time."
)
VERIFIED = "Your email address is confirmed."


@router.get("/email/verify", response_class=HTMLResponse, include_in_schema=False)
async def verify_form(
    token: str | None = Query(default=None, max_length=256),
) -> HTMLResponse:
    """Shows the button only: a GET never spends the token (mail scanners follow links)."""
    return verify_page(token)


@router.post(
    "/email/verify",
    response_model=EmailVerifiedOut,
    responses=with_pages(error_responses(400, 409, 413, 415, 422, 429), 200, 400, 409, 429, 503),
    openapi_extra=json_or_form_body(VerifyEmailRequest, VerifyEmailRequest),
    summary="Confirm an email address with the mailed token, or the address and code",
)
async def verify_email(request: Request, service: EmailAddressServiceDep) -> Any:
    body, as_form = await read_json_or_form(request, VerifyEmailRequest)
    verified: list[EmailVerifiedOut] = []

    async def verify() -> None:
        if body.token is not None:
            verified.append(await run_blocking(service.verify_with_token, body.token))
        elif body.email is not None and body.code is not None:
            verified.append(await run_blocking(service.verify_with_code, body.email, body.code))

    wording = PageWording("Address confirmed", VERIFIED, "The address was not confirmed")
    page = await answer(as_form, verify(), wording, None)
    return page if as_form else verified[0]


@router.get("/email/verify/resend", response_class=HTMLResponse, include_in_schema=False)
async def resend_form() -> HTMLResponse:
    return resend_page()


@router.post(
    "/email/verify/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedOut,
    responses=with_pages(error_responses(413, 415, 422, 429), 202, 429, 503),
    openapi_extra=json_or_form_body(ResendVerificationRequest, ResendVerificationRequest),
    summary="Mail a new verification link and code (202 whether or not the account exists)",
)
async def resend_verification(
    request: Request, service: EmailAddressServiceDep, background: BackgroundTasks
) -> Any:
    body, as_form = await read_json_or_form(request, ResendVerificationRequest)
    admit, send = service.admit_verification_request, service.request_verification
    return await accept_mail_request(body, as_form, admit, send, background, RESEND_ACCEPTED)
