"""The metrics folder of `uvicorn --workers`: named after the supervisor process, and used only
when it is a private folder of this user (a shared /tmp must not let another user plant
figures or a link)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from A_DatabasePackage.settings import METRICS_DIR_VARIABLE
from I_ControllerPackage.metrics_folder import (
    metrics_folder,
    private_folder,
    process_start_ticks,
    supervisor_folder,
)


def test_a_new_folder_is_created_private(tmp_path: Path) -> None:
    folder = private_folder(tmp_path / "metrics")
    assert folder.is_dir()
    assert folder.stat().st_mode & 0o777 == 0o700


def test_a_folder_others_can_enter_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "metrics"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    with pytest.raises(RuntimeError, match="not a private folder"):
        private_folder(folder)


def test_a_link_in_place_of_the_folder_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    link = tmp_path / "metrics"
    link.symlink_to(target)
    with pytest.raises(RuntimeError, match="not a private folder"):
        private_folder(link)


def test_the_folder_names_the_supervisor_and_when_it_started() -> None:
    folder = supervisor_folder(os.getpid())
    assert folder.name == f"auth-service-metrics-{os.getpid()}-{process_start_ticks(os.getpid())}"
    assert process_start_ticks(os.getpid()).isdigit()
    assert process_start_ticks(os.getpid()) != "0"


def test_a_configured_folder_wins_and_a_single_process_has_none(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(METRICS_DIR_VARIABLE, str(tmp_path))
    assert metrics_folder() == tmp_path
    monkeypatch.delenv(METRICS_DIR_VARIABLE)
    assert metrics_folder() is None  # pytest was not started by a multiprocessing supervisor
