"""The bench's own pieces that can be wrong without any load: the bare JWT app accepts the
service's token and refuses others (bench/bare_jwt_app.py), the fastapi-users peer registers,
signs in and answers /users/me (bench/peers/, only where fastapi-users is installed), and the
report's ratios, targets and notes come out right from given figures (bench/table.py,
bench/report.py), and the slices alternate (bench/slicing.py)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from A_DatabasePackage.settings import get_settings
from bench.figures import BackendResult
from bench.report import losses, record, section
from bench.slicing import in_turn, slices
from bench.table import table
from tests.support import TEST_SECRET_KEY

PEER_APP = Path(__file__).resolve().parents[2] / "bench" / "peers" / "fastapi_users_app.py"


@pytest.fixture
def bare_jwt(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    get_settings.cache_clear()
    sys.modules.pop("bench.bare_jwt_app", None)
    yield importlib.import_module("bench.bare_jwt_app")
    sys.modules.pop("bench.bare_jwt_app", None)
    get_settings.cache_clear()


@pytest.mark.anyio
async def test_the_bare_app_verifies_the_token_and_refuses_others(bare_jwt: ModuleType) -> None:
    token = bare_jwt.tokens.issue_access_token(7, "user", 0, 3).token
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    transport = httpx.ASGITransport(app=bare_jwt.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        valid = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        bad = await client.get("/users/me", headers={"Authorization": f"Bearer {forged}"})
        missing = await client.get("/users/me")
    assert valid.status_code == 200
    assert valid.json() == {"id": 7}
    assert bad.status_code == 401
    assert bad.json()["code"] == "INVALID_TOKEN"
    assert missing.status_code == 401
    assert missing.json()["code"] == "NOT_AUTHENTICATED"


@pytest.mark.anyio
async def test_the_fastapi_users_peer_registers_signs_in_and_answers_me(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compile(PEER_APP.read_text(encoding="utf-8"), str(PEER_APP), "exec")
    pytest.importorskip("fastapi_users", reason="only bench/peers/requirements.txt has it")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'peer.db'}")
    monkeypatch.setenv("SECRET", TEST_SECRET_KEY)
    spec = importlib.util.spec_from_file_location("fastapi_users_app", PEER_APP)
    assert spec is not None
    assert spec.loader is not None
    peer = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, peer)  # pydantic's generics look it up there
    spec.loader.exec_module(peer)
    await peer.create_db_and_tables()
    account = {"email": "bench@example.com", "password": "correct horse battery staple"}
    transport = httpx.ASGITransport(app=peer.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://peer") as client:
        created = await client.post("/auth/register", json=account)
        form = {"username": account["email"], "password": account["password"]}
        signed_in = await client.post("/auth/jwt/login", data=form)
        token = signed_in.json()["access_token"]
        me = await client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        refused = await client.get("/users/me", headers={"Authorization": "Bearer x.y.z"})
    await peer.engine.dispose()
    assert created.status_code == 201
    assert me.json()["email"] == account["email"]
    assert refused.status_code == 401


def measured(figures: dict[str, float], backend: str = "SQLite") -> BackendResult:
    return BackendResult(backend, figures=dict(figures))


def row(text: str, label: str) -> list[str]:
    """The cells of the table row whose label is `label`."""
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[0] == label:
            return cells[1:]
    raise AssertionError(f"no row {label!r} in\n{text}")


def test_the_table_computes_ratios_and_verdicts() -> None:
    sqlite = measured(
        {
            "rate raw": 100.0,
            "rate login/before": 85.0,
            "rate login/after": 70.0,
            "rate me/after": 3000.0,
            "rate me/peer": 1000.0,
            "rate me/bare": 6000.0,
            "p50 idle/after": 1.0,
            "p50 flood/after": 3.5,
            "p99 idle/after": 2.0,
            "p99 flood/after": 9.0,
        }
    )
    postgres = measured({"rate me/after": 2000.0, "rate me/bare": 8000.0}, "PostgreSQL")
    text = table([sqlite, postgres])
    assert text.splitlines()[0] == "| figure | SQLite | PostgreSQL | target | result |"
    assert row(text, "POST /login ÷ raw, before") == ["0.85", "n/a", "≥ 0.80", "met, n/a"]
    assert row(text, "POST /login ÷ raw, after") == ["0.70", "n/a", "≥ 0.80", "**missed**, n/a"]
    assert row(text, "POST /login after ÷ before")[0] == "0.82"
    assert row(text, "POST /login after ÷ before")[3] == "**missed**, n/a"
    assert row(text, "/users/me after ÷ fastapi-users") == ["3.00", "n/a", "≥ 2.50", "met, n/a"]
    assert row(text, "/users/me after ÷ bare") == ["0.50", "0.25", "≥ 0.35", "met, **missed**"]
    assert row(text, "p50 flooded ÷ idle, after") == ["3.5x", "n/a", "≤ 3.00x", "**missed**, n/a"]
    assert row(text, "p99 flooded ÷ idle, after") == ["4.5x", "n/a", "≤ 5.00x", "met, n/a"]
    assert "POST /register" not in text  # not measured on any backend: no row


def test_a_lost_route_says_whether_the_service_spent_more_per_request() -> None:
    costlier = measured(
        {"rate me/before": 1000, "rate me/after": 800, "cpu me/before": 1, "cpu me/after": 1.25}
    )
    waiting = measured(
        {
            "rate login/before": 100.0,
            "rate login/after": 80.0,
            "cpu login/before": 20.0,
            "cpu login/after": 20.2,
        }
    )
    kept = measured({"rate register/before": 100.0, "rate register/after": 90.0})
    [grew] = losses(costlier)
    assert grew.startswith("GET /users/me after ÷ before 0.80")
    assert "+25%" in grew
    assert "own work per request grew" in grew
    [waited] = losses(waiting)
    assert "not the service's own work" in waited
    assert losses(kept) == []


def test_record_puts_the_new_run_on_top_of_the_history(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nintro\n\n## 2026-01-01 00:00 UTC\n\nold run\n")
    record(section([measured({"rate me/after": 1.0})], ["- details"]), results)
    text = results.read_text()
    assert text.index("GET /users/me, after") < text.index("## 2026-01-01 00:00 UTC")
    assert text.count("# Benchmark results") == 1
    assert text.rstrip().endswith("old run")


def test_slices_are_whole_seconds_taken_in_alternating_order() -> None:
    assert slices(10) == (5, 2)
    assert slices(2) == (1, 2)
    assert slices(0.5) == (1, 1)
    assert slices(3) == (2, 2)
    assert list(in_turn(["a", "b"], 0)) == ["a", "b"]
    assert list(in_turn(["a", "b"], 1)) == ["b", "a"]
