"""The pages behind the mailed verification link and the request for a new one (see
recovery_pages: a GET only shows a form; only its POST spends a token)."""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

from I_ControllerPackage.recovery_pages import CODE_FIELD, email_field, page

EMAIL_FIELD = email_field("Your email address")


def verify_page(token: str | None) -> HTMLResponse:
    """With the link's token: one button. Without: the address and the code."""
    if token:
        fields = f'<input type="hidden" name="token" value="{escape(token, quote=True)}">'
    else:
        fields = EMAIL_FIELD + CODE_FIELD
    return page(
        "Confirm your email address",
        f"""<form method="post" action="/email/verify">
{fields}
<p><button type="submit">Confirm this address</button></p>
</form>""",
    )


def resend_page() -> HTMLResponse:
    return page(
        "Confirm your email address",
        f"""<form method="post" action="/email/verify/resend">
{EMAIL_FIELD}
<p><button type="submit">Send me a new link and code</button></p>
</form>""",
    )
