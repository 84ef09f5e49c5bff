"""The mails the service sends, from Jinja2 templates (plain text and HTML, the HTML
autoescaped) in mail_templates/."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from E_SecurityPackage.mail_sealing import MailMessage

TEMPLATES = Path(__file__).resolve().parent / "mail_templates"


class MailComposer:
    def __init__(self, public_base_url: str) -> None:
        self.base_url = public_base_url.rstrip("/")
        self.templates = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def _compose(self, name: str, to: str, subject: str, **values: object) -> MailMessage:
        text = self.templates.get_template(f"{name}.txt").render(**values)
        html = self.templates.get_template(f"{name}.html").render(**values)
        return MailMessage(to=to, subject=subject, text=text, html=html)

    def password_reset(
        self, to: str, username: str, token: str, code: str, minutes: int
    ) -> MailMessage:
        link = f"{self.base_url}/password/reset?{urlencode({'token': token})}"
        return self._compose(
            "password_reset",
            to,
            "Reset your password",
            username=username,
            link=link,
            code=code,
            minutes=minutes,
        )

    def password_changed(
        self, to: str, username: str, when: datetime, not_me_token: str
    ) -> MailMessage:
        return self._compose(
            "password_changed",
            to,
            "Your password was changed",
            username=username,
            when=when.strftime("%Y-%m-%d %H:%M"),
            not_me_link=f"{self.base_url}/account/not-me?{urlencode({'token': not_me_token})}",
            forgot_link=f"{self.base_url}/password/forgot",
        )
