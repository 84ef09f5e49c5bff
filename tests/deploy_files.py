"""Reading the deployment files in tests: the Dockerfile's instructions by stage, the compose
file, and the server variables deploy/gunicorn_conf.py reads."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from A_DatabasePackage.settings import METRICS_DIR_VARIABLE
from tests.live_server import PROJECT_ROOT

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
GUNICORN_CONF = PROJECT_ROOT / "deploy" / "gunicorn_conf.py"
DASHBOARD = PROJECT_ROOT / "deploy" / "grafana" / "dashboards" / "auth-service.json"
PROMETHEUS_CONFIG = PROJECT_ROOT / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA_PROVISIONING = PROJECT_ROOT / "deploy" / "grafana" / "provisioning"


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [argument for key, argument in self.instructions if key == keyword]


def dockerfile_stages(path: Path = DOCKERFILE) -> list[Stage]:
    """The stages of a Dockerfile, each with its (KEYWORD, arguments) in order."""
    text = re.sub(r"\\\n", " ", path.read_text(encoding="utf-8"))
    arguments: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), " ".join(rest.split())
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            arguments[name] = default
        elif keyword == "FROM":
            parts = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: arguments.get(m.group(1), ""), parts[0])
            stage_name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(base, stage_name))
        else:
            stages[-1].instructions.append((keyword, rest))
    return stages


def copy_sources(argument: str) -> list[str]:
    """The sources of a COPY without --from (the last word is the destination)."""
    words = [word for word in argument.split() if not word.startswith("--")]
    return words[:-1]


def load_compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    return loaded


def server_variables() -> set[str]:
    """The environment variables deploy/gunicorn_conf.py reads (not service settings)."""
    text = GUNICORN_CONF.read_text(encoding="utf-8")
    names = set(re.findall(r"os\.environ(?:\.get|\.setdefault)?\(\s*\"([A-Z_]+)\"", text))
    return names | {METRICS_DIR_VARIABLE}


def interpolate(value: str, **values: str) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?message} with the given values."""

    def replace(match: re.Match[str]) -> str:
        name, operator, word = match.group(1), match.group(2), match.group(3)
        if name in values:
            return values[name]
        return word if operator == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", replace, value)
