"""Swagger UI as a person uses it: Authorize with a password, then "Try it out" on /users/me.

Drives Debian's headless Chromium through chromedriver against a real uvicorn process. The
docs page must work without internet access, so it may only load assets the service serves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pytest
from fastapi.testclient import TestClient

from tests.browser.conftest import WAIT_SECONDS
from tests.live_server import PROJECT_ROOT, LiveServer, live_server, settings_env
from tests.support import STRONG_PASSWORD

if TYPE_CHECKING:  # selenium is imported at run time only where the browser test runs
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

LIVE_RESPONSE = ("css selector", ".live-responses-table")
ASSET_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


def test_docs_page_loads_only_local_assets(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower()
    assert "http://" not in docs.text
    assert "https://" not in docs.text
    assets = ASSET_URL.findall(docs.text)
    assert sorted(assets) == [
        "/static/docs/favicon.png",
        "/static/docs/swagger-ui-bundle.js",
        "/static/docs/swagger-ui.css",
    ]
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 1000, asset
    assert client.get("/docs/oauth2-redirect").status_code == 200

    redoc = client.get("/redoc")
    assert redoc.status_code == 200
    assert "https://" not in redoc.text
    assert "http://" not in redoc.text
    assert ASSET_URL.findall(redoc.text) == [
        "/static/docs/favicon.png",
        "/static/docs/redoc.standalone.js",
    ]
    assert client.get("/static/docs/redoc.standalone.js").status_code == 200
    # The docs routes stay out of the API description.
    assert not {"/docs", "/redoc", "/docs/oauth2-redirect"} & set(
        client.get("/openapi.json").json()["paths"]
    )


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(settings_env(database_url), PROJECT_ROOT, tmp_path / "logs") as running:
        yield running


@pytest.mark.browser
def test_swagger_authorize_and_try_users_me(
    driver: WebDriver, server: LiveServer, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with server.client() as client:
        created = client.post(
            "/register",
            json={
                "username": "swagger_sam",
                "email": "sam@example.com",
                "password": STRONG_PASSWORD,
            },
        )
    assert created.status_code == 201, created.text

    wait = WebDriverWait(driver, WAIT_SECONDS)

    def click(css: str) -> None:
        element = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, css)))
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()

    def click_in(block: tuple[str, str], css: str) -> None:
        def clickable(_: WebDriver) -> WebElement | Literal[False]:
            for element in driver.find_element(*block).find_elements(By.CSS_SELECTOR, css):
                if element.is_displayed() and element.is_enabled():
                    return element
            return False

        element = wait.until(clickable)
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()

    try:
        driver.get(f"{server.base_url}/docs")
        click("button.authorize")
        wait.until(ec.visibility_of_element_located((By.ID, "oauth_username"))).send_keys(
            "swagger_sam"
        )
        driver.find_element(By.ID, "oauth_password").send_keys(STRONG_PASSWORD)
        click(".modal-ux .auth-btn-wrapper button.authorize")
        # Once /login answered with a token the dialog says so and offers "Logout".
        wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".modal-ux"), "Authorized"))
        logout = driver.find_element(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper button")
        assert logout.text == "Logout"
        click(".modal-ux .auth-btn-wrapper button.btn-done")
        wait.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, ".modal-ux")))
        padlock = driver.find_element(By.CSS_SELECTOR, "button.authorize")
        assert "locked" in (padlock.get_attribute("class") or "").split()

        operation = (
            By.XPATH,
            "//div[contains(@class, 'opblock-get')]"
            "[.//*[contains(@class, 'opblock-summary-path') and @data-path='/users/me']]",
        )
        click_in(operation, ".opblock-summary-control")
        click_in(operation, "button.try-out__btn")
        click_in(operation, "button.execute")
        block = driver.find_element(*operation)
        wait.until(lambda _: "swagger_sam" in block.find_element(*LIVE_RESPONSE).text)
        live = block.find_element(*LIVE_RESPONSE)
        status = live.find_element(By.CSS_SELECTOR, "tr.response .response-col_status").text
        body = live.find_element(By.CSS_SELECTOR, "tr.response .response-col_description pre").text
        curl = block.find_element(By.CSS_SELECTOR, ".curl-command").text
        driver.save_screenshot(str(tmp_path / "users-me.png"))
    except Exception:
        driver.save_screenshot(str(tmp_path / "failure.png"))
        raise
    assert status.strip() == "200"
    assert json.loads(body)["username"] == "swagger_sam"
    assert json.loads(body)["email"] == "sam@example.com"
    assert "Authorization: Bearer " in curl


CSP_RECORDER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.mark.browser
@pytest.mark.parametrize(
    ("path", "rendered"),
    [("/docs", ".swagger-ui .info .title"), ("/redoc", "[role=search] input, .api-content h1")],
)
def test_docs_pages_render_within_their_content_security_policy(
    driver: WebDriver, server: LiveServer, path: str, rendered: str
) -> None:
    """The docs pages run under the CSP the security-headers middleware sends them, and
    nothing of theirs is blocked by it (violations are recorded from before the page loads)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with server.client() as client:
        policy = client.get(path).headers["content-security-policy"]
    assert "script-src 'self' 'unsafe-inline'" in policy
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_RECORDER})
    driver.get(f"{server.base_url}{path}")
    WebDriverWait(driver, WAIT_SECONDS).until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, rendered))
    )
    assert "Auth service" in driver.find_element(By.CSS_SELECTOR, rendered.split(",")[-1]).text
    violations: list[str] = driver.execute_script("return window.__cspViolations")
    # ReDoc's "powered by" logo points at its CDN; the policy blocks it, as the docs never
    # load anything from a third party. Nothing else may be blocked.
    assert [v for v in violations if not v.startswith("img-src https://cdn.redoc.ly/")] == []
