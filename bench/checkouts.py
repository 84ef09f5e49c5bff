"""The code under test: the commit before (extracted with `git archive`), the working tree,
and the virtual environments they and the peer app run in, cached under bench/.cache/."""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CACHE = PROJECT_ROOT / "bench" / ".cache"
PEER_REQUIREMENTS = PROJECT_ROOT / "bench" / "peers" / "requirements.txt"
COMPLETE = ".complete"  # written last: a folder without it was interrupted and is redone


@dataclass(frozen=True)
class Checkout:
    """A version of the service: its root folder, its Python and how the table names it."""

    label: str
    root: Path
    python: Path
    description: str


def _git(repo: Path, *arguments: str) -> str:
    completed = subprocess.run(
        ["git", "-C", str(repo), *arguments], capture_output=True, text=True, check=True
    )
    return completed.stdout.strip()


def venv_for(requirements: Path, prefix: str) -> Path:
    """The Python of a cached virtual environment with `requirements` installed; made on first
    use, keyed by the requirements' content and this Python's version."""
    key = hashlib.sha256(requirements.read_bytes() + platform.python_version().encode())
    venv = CACHE / "venvs" / f"{prefix}-{key.hexdigest()[:12]}"
    python = venv / "bin" / "python"
    if not (venv / COMPLETE).exists():
        print(f"installing {requirements} into {venv}", flush=True)
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(requirements)], check=True)
        (venv / COMPLETE).touch()
    return python


def before_checkout(commit: str, repo: Path = PROJECT_ROOT) -> Checkout:
    """`commit`'s tree, extracted once into bench/.cache/src-<sha>, with its requirements.txt
    installed into a virtual environment of its own."""
    sha = _git(repo, "rev-parse", "--verify", f"{commit}^{{commit}}")
    root = CACHE / f"src-{sha[:12]}"
    if not (root / COMPLETE).exists():
        print(f"extracting {sha[:12]} into {root}", flush=True)
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "-C", str(repo), "archive", "--format=tar", sha],
            capture_output=True,
            check=True,
        )
        subprocess.run(["tar", "-x", "-C", str(root)], input=archive.stdout, check=True)
        (root / COMPLETE).touch()
    return Checkout(
        label=f"before ({sha[:7]})",
        root=root,
        python=venv_for(root / "requirements.txt", "service"),
        description=f"commit {sha[:7]} of {_git(repo, 'log', '-1', '--format=%cs', sha)}",
    )


def after_checkout(root: Path) -> Checkout:
    """The tree at `root` as it is, with its own .venv (or a cached one for its
    requirements.txt when it has none)."""
    root = root.resolve()
    own = root / ".venv" / "bin" / "python"
    python = own if own.exists() else venv_for(root / "requirements.txt", "service")
    try:
        head = _git(root, "rev-parse", "--short=7", "HEAD")
        changed = bool(_git(root, "status", "--porcelain", "--untracked-files=no"))
        description = f"working tree at {head}" + (" with uncommitted changes" if changed else "")
    except (OSError, subprocess.CalledProcessError):
        description = "a tree outside git"
    return Checkout(label="after", root=root, python=python, description=f"{root}: {description}")


def peer_python() -> Path:
    """The Python of fastapi-users' own virtual environment (bench/peers/requirements.txt)."""
    return venv_for(PEER_REQUIREMENTS, "peers")


def package_versions(python: Path, names: tuple[str, ...]) -> str:
    """`name version, ...` of these distributions in `python`'s environment."""
    script = (
        "import json, sys\n"
        "from importlib.metadata import PackageNotFoundError, version\n"
        "def v(n):\n"
        "    try:\n"
        "        return version(n)\n"
        "    except PackageNotFoundError:\n"
        "        return None\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))\n"
    )
    completed = subprocess.run(
        [str(python), "-c", script, *names], capture_output=True, text=True, check=True
    )
    found: dict[str, str | None] = json.loads(completed.stdout)
    return ", ".join(f"{name} {found[name]}" for name in names if found[name])
