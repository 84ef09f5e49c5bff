"""The README's operations sections match what the service exports and reads."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from A_DatabasePackage.settings import Settings
from tests.deploy_files import server_variables
from tests.live_server import PROJECT_ROOT
from tests.metrics_support import scrape

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_the_operations_sections_exist() -> None:
    for title in ("Run in production", "Observe", "Scale out"):
        assert section(title)


def test_set_up_still_has_exactly_two_commands() -> None:
    assert section("Set up").count("```sh") == 2


def test_every_metric_the_readme_names_is_exported(client: TestClient) -> None:
    client.get("/healthz")  # a labelled histogram has no series before its first observation
    exported = scrape(client).names()
    observe = section("Observe")
    metrics = observe[observe.index("### Metrics") : observe.index("### Dashboard")]
    named = set(re.findall(r"`(auth_[a-z0-9_]+)`", metrics))
    assert len(named) == 7
    for name in named:
        assert name in exported or f"{name}_bucket" in exported, name


def test_every_setting_and_server_variable_is_documented() -> None:
    configuration = section("Configuration")
    for name in Settings.model_fields:
        assert f"`{name}`" in configuration, name
    production = section("Run in production")
    for name in server_variables():
        assert f"`{name}`" in production, name
