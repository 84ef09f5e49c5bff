"""An address confirmed as a person confirms it: the verification mail arrives over SMTP, the
link opens in headless Chromium, the person presses the button, and the account counts as
verified; with REQUIRE_VERIFIED_EMAIL, sign-in works only from then on. Against a real
uvicorn process and a real SMTP server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import WAIT_SECONDS
from tests.live_server import PROJECT_ROOT, LiveServer, live_server, settings_env
from tests.mail_support import Inbox, smtp_server, text_of
from tests.support import STRONG_PASSWORD

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver


@pytest.fixture
def strict_server(database_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, Inbox]]:
    with smtp_server() as (inbox, port):
        env = settings_env(
            database_url,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(port),
            SMTP_STARTTLS="false",
            PUBLIC_BASE_URL="https://auth.example.com",
            REQUIRE_VERIFIED_EMAIL="true",
        )
        with live_server(env, PROJECT_ROOT, tmp_path / "logs") as server:
            yield server, inbox


@pytest.mark.browser
def test_open_the_mailed_link_press_the_button_and_the_address_is_confirmed(
    driver: WebDriver, strict_server: tuple[LiveServer, Inbox], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    server, inbox = strict_server
    credentials = {"username": "vera", "password": STRONG_PASSWORD}
    with server.client() as client:
        account = {**credentials, "email": "vera@example.com"}
        assert client.post("/register", json=account).status_code == 201
        refused = client.post("/login", json=credentials)
    assert (refused.status_code, refused.json()["code"]) == (403, "EMAIL_NOT_VERIFIED")
    (mail,) = inbox.wait_for(1)
    link = next(word for word in text_of(mail).split() if "/email/verify?token=" in word)
    parts = urlsplit(link)
    local_link = f"{server.base_url}{parts.path}?{parts.query}"

    wait = WebDriverWait(driver, WAIT_SECONDS)
    try:
        driver.get(local_link)
        button = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "button[type=submit]")))
        assert driver.title == "Confirm your email address"
        button.click()
        wait.until(ec.title_is("Address confirmed"))
        page = driver.find_element(By.TAG_NAME, "body").text
    except Exception:
        driver.save_screenshot(str(tmp_path / "failure.png"))
        raise
    assert "Your email address is confirmed." in page

    with server.client() as client:
        signed_in = client.post("/login", json=credentials)
        assert signed_in.status_code == 200
        me = client.get(
            "/users/me", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        )
    assert me.json()["email_verified"] is True
