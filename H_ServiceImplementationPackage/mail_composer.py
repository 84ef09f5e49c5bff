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
            when=_minute(when),
            **self._not_me_links(not_me_token),
        )

    def proof_of_address(
        self, to: str, username: str, token: str, code: str, hours: int, change: bool
    ) -> MailMessage:
        """The link and code that prove `to`: the account's own address, or (`change`) the
        new address of an email change, which takes effect once they are used."""
        name, subject = (
            ("confirm_email_change", "Confirm your new email address")
            if change
            else ("verify_email", "Confirm your email address")
        )
        return self._compose(
            name,
            to,
            subject,
            username=username,
            email=to,
            link=f"{self.base_url}/email/verify?{urlencode({'token': token})}",
            code=code,
            hours=hours,
        )

    def email_change_requested(
        self, to: str, username: str, new_email: str, when: datetime, not_me_token: str
    ) -> MailMessage:
        """To the old address, with the link that cancels (or undoes) the change."""
        return self._compose(
            "email_change_requested",
            to,
            "Your email address is being changed",
            username=username,
            new_email=new_email,
            when=_minute(when),
            **self._not_me_links(not_me_token),
        )

    def lockout(
        self,
        to: str,
        username: str,
        when: datetime,
        address: str | None,
        minutes: int,
        not_me_token: str,
    ) -> MailMessage:
        return self._compose(
            "lockout",
            to,
            "Signing in to your account was paused",
            username=username,
            when=_minute(when),
            address=address,
            minutes=minutes,
            **self._not_me_links(not_me_token),
        )

    def _not_me_links(self, not_me_token: str) -> dict[str, str]:
        return {
            "not_me_link": f"{self.base_url}/account/not-me?{urlencode({'token': not_me_token})}",
            "forgot_link": f"{self.base_url}/password/forgot",
        }


def _minute(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M")
