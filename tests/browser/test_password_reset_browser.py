"""A forgotten password as a person recovers it: the mail arrives over SMTP, the link opens in
headless Chromium, the person types a new password and presses the button, and the new
password signs in. Against a real uvicorn process and a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import WAIT_SECONDS
from tests.live_server import PROJECT_ROOT, LiveServer, live_server, settings_env
from tests.mail_support import VERIFICATION_SUBJECTS, Inbox, smtp_server, text_of
from tests.support import STRONG_PASSWORD

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver

NEW_PASSWORD = "a passphrase typed in the browser"


@pytest.fixture
def mailing_server(database_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, Inbox]]:
    with smtp_server(VERIFICATION_SUBJECTS) as (inbox, port):
        env = settings_env(
            database_url,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(port),
            SMTP_STARTTLS="false",
            PUBLIC_BASE_URL="https://auth.example.com",
        )
        with live_server(env, PROJECT_ROOT, tmp_path / "logs") as server:
            yield server, inbox


@pytest.mark.browser
def test_open_the_mailed_link_press_the_button_and_the_password_is_reset(
    driver: WebDriver, mailing_server: tuple[LiveServer, Inbox], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    server, inbox = mailing_server
    with server.client() as client:
        account = {"username": "rita", "email": "rita@example.com", "password": STRONG_PASSWORD}
        assert client.post("/register", json=account).status_code == 201
        asked = client.post("/password/forgot", json={"email": "rita@example.com"})
        assert asked.status_code == 202
    (mail,) = inbox.wait_for(1)
    link = next(word for word in text_of(mail).split() if "/password/reset?token=" in word)
    assert link.startswith("https://auth.example.com/password/reset?token=")
    parts = urlsplit(link)
    local_link = f"{server.base_url}{parts.path}?{parts.query}"

    wait = WebDriverWait(driver, WAIT_SECONDS)
    try:
        driver.get(local_link)
        field = wait.until(ec.visibility_of_element_located((By.NAME, "new_password")))
        assert driver.title == "Choose a new password"
        field.send_keys(NEW_PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(ec.title_is("Password changed"))
        page = driver.find_element(By.TAG_NAME, "body").text
        driver.save_screenshot(str(tmp_path / "reset-done.png"))
    except Exception:
        driver.save_screenshot(str(tmp_path / "failure.png"))
        raise
    assert "every device signed in was signed out" in page

    with server.client() as client:
        new = client.post("/login", json={"username": "rita", "password": NEW_PASSWORD})
        old = client.post("/login", json={"username": "rita", "password": STRONG_PASSWORD})
    assert new.status_code == 200
    assert old.status_code == 401
    notice = inbox.wait_for(2)[1]
    assert notice["Subject"] == "Your password was changed"
