"""The README's set-up commands: exactly two one-line ```sh blocks, and they work. The first
installs and starts the service (its uvicorn part is run here, as written, on the SQLite
default from an empty folder, and a newcomer's first session succeeds); the second runs the
test suite."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from tests.live_server import PROJECT_ROOT, live_server, server_env

README = PROJECT_ROOT / "README.md"
PASSWORD = "correct horse battery staple"


def set_up_commands() -> list[str]:
    """The README's ```sh blocks: its set-up commands (other examples use other fences)."""
    text = README.read_text(encoding="utf-8")
    return [block.strip() for block in re.findall(r"^```sh\n(.*?)^```$", text, re.M | re.S)]


def test_the_readme_has_exactly_two_one_line_set_up_commands() -> None:
    commands = set_up_commands()
    assert len(commands) == 2, commands
    for command in commands:
        assert "\n" not in command, command


def test_the_first_command_installs_the_requirements_and_starts_the_service(
    tmp_path: Path,
) -> None:
    create_venv, install, start = set_up_commands()[0].split(" && ")
    assert shlex.split(create_venv) == ["python3", "-m", "venv", ".venv"]
    pip, verb, option, requirements = shlex.split(install)
    assert (pip, verb, option) == (".venv/bin/pip", "install", "-r")
    assert (PROJECT_ROOT / requirements).is_file()
    uvicorn, app, *flags = shlex.split(start)
    assert uvicorn == ".venv/bin/uvicorn"
    # No settings at all, from an empty folder: the embedded SQLite default and a generated key.
    with (
        live_server(server_env(), tmp_path, tmp_path / "logs", app=app, flags=flags) as server,
        server.client() as client,
    ):
        account = {"username": "alice", "email": "alice@example.com", "password": PASSWORD}
        assert client.post("/register", json=account).status_code == 201
        login = client.post("/login", json={"username": "alice", "password": PASSWORD})
        assert login.status_code == 200
        bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
        me = client.get("/users/me", headers=bearer)
        assert me.status_code == 200
        assert me.json()["username"] == "alice"
        assert client.get("/users/me").status_code == 401
    assert (tmp_path / "auth.db").is_file()


def test_the_second_command_runs_the_test_suite() -> None:
    shell, script = shlex.split(set_up_commands()[1])
    assert shell == "bash"
    path = PROJECT_ROOT / script
    assert "pytest" in path.read_text(encoding="utf-8")
    subprocess.run(["bash", "-n", str(path)], check=True)
