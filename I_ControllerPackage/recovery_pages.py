"""The small HTML pages behind mailed links. A GET only shows a form; only its POST spends a
token, so mail scanners and link previews that fetch the link change nothing. No scripts and
no styles (the API's Content-Security-Policy, `default-src 'none'`, applies), and
`Referrer-Policy: no-referrer` keeps the token in the address out of other sites' logs."""

from __future__ import annotations

from html import escape

from fastapi.responses import HTMLResponse

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>
<body>
<h1>{title}</h1>
{content}
</body>
</html>
"""


CODE_FIELD = """
<p><label>The 8-digit code of the mail<br>
<input name="code" required inputmode="numeric" pattern="[0-9]{8}" maxlength="8"
 autocomplete="one-time-code"></label></p>"""


def email_field(label: str) -> str:
    return f"""<p><label>{escape(label, quote=False)}<br>
<input type="email" name="email" required autocomplete="email" maxlength="320"></label></p>"""


def page(title: str, content: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(title=escape(title), content=content), status_code)


def forgot_page() -> HTMLResponse:
    return page(
        "Forgot your password?",
        f"""<form method="post" action="/password/forgot">
{email_field("Your account's email address")}
<p><button type="submit">Send me a link and a code</button></p>
</form>""",
    )


def reset_page(token: str | None) -> HTMLResponse:
    """With the link's token: only a new password to choose. Without: the email and code."""
    if token:
        fields = f'<input type="hidden" name="token" value="{escape(token, quote=True)}">'
    else:
        fields = email_field("Your account's email address") + CODE_FIELD
    return page(
        "Choose a new password",
        f"""<form method="post" action="/password/reset">
{fields}
<p><label>New password<br>
<input type="password" name="new_password" required autocomplete="new-password" maxlength="128">
</label></p>
<p><button type="submit">Set the new password</button></p>
</form>""",
    )


def not_me_page(token: str | None) -> HTMLResponse:
    value = escape(token or "", quote=True)
    return page(
        "It was not me",
        f"""<p>Sign every device out of this account, whoever it is: the next sign-in needs the
password. An email change you did not ask for is cancelled, or undone if it was already
confirmed. Then choose a new password.</p>
<form method="post" action="/account/not-me">
<input type="hidden" name="token" value="{value}">
<p><button type="submit">Sign every device out</button></p>
</form>""",
    )


def message_page(title: str, message: str, status_code: int = 200) -> HTMLResponse:
    return page(title, f"<p>{escape(message)}</p>", status_code)
