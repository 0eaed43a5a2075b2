"""The deployment files: docker-compose.yml validates and keeps its promises; the image runs
the worker.

Docker cannot run containers everywhere, but ``docker-compose config`` validates and resolves
the file offline. Its output is parsed with PyYAML when available, otherwise read as text (both
docker-compose v1 and ``docker compose`` v2 print two-space indented block YAML).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"

SERVICES = ("postgresql", "temporal-schema", "temporal", "temporal-setup", "ui", "worker")
LOOPBACK = "127.0.0.1"
# Variables the compose file reads; cleared so that the file's own defaults are what is checked.
COMPOSE_VARS = (
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_API_KEY",
    "TEMPORAL_TLS",
    "JOBS_MODULES",
    "JOBS_QUEUES",
    "JOBS_MAX_CONCURRENT_ACTIVITIES",
    "JOBS_GRACEFUL_SHUTDOWN_SECONDS",
    "WORKER_REPLICAS",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_VERSION",
    "TEMPORAL_VERSION",
    "TEMPORAL_UI_VERSION",
    "TEMPORAL_NAMESPACE_RETENTION",
    "TEMPORAL_NUM_HISTORY_SHARDS",
)


def compose_binary() -> str:
    binary = shutil.which("docker-compose")
    if binary is None:
        message = "docker-compose is not installed"
        if os.environ.get("CI"):
            pytest.fail(
                f"{message}: .ci/run installs it with apt "
                "(apt-get install -y --no-install-recommends docker-compose)"
            )
        pytest.skip(f"{message} (Debian: apt-get install docker-compose)")
    return binary


def compose_config(tmp_path: Path, **env: str) -> str:
    """``docker-compose config`` output, with a clean environment plus ``env``.

    An empty ``--env-file`` keeps a developer's own ``.env`` next to the file out of the test.
    """
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    environ = {key: value for key, value in os.environ.items() if key not in COMPOSE_VARS}
    environ.update(env)
    result = subprocess.run(
        [
            compose_binary(),
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(empty_env_file),
            "config",
        ],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert result.returncode == 0, f"docker-compose config failed:\n{result.stderr}"
    return result.stdout


# --- reading the resolved config -------------------------------------------------------------


def load_yaml(text: str) -> dict[str, Any] | None:
    try:
        import yaml
    except ImportError:
        return None
    loaded = yaml.safe_load(text)
    assert isinstance(loaded, dict)
    return loaded


def indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def block(lines: list[str], key: str, start: int = 0, end: int | None = None) -> list[str]:
    """The lines under the first ``key:`` line in ``lines[start:end]`` (empty if absent).

    A block runs while lines are indented deeper than the key, or are list items at the key's
    own indent (docker-compose v1 writes ``ports:\\n- ...`` that way).
    """
    end = len(lines) if end is None else end
    pattern = re.compile(rf"^( *){re.escape(key)}:\s*$")
    for number in range(start, end):
        match = pattern.match(lines[number])
        if not match:
            continue
        level = len(match.group(1))
        body = []
        for line in lines[number + 1 : end]:
            if line.strip() and not (
                indent(line) > level or (indent(line) == level and line.lstrip().startswith("- "))
            ):
                break
            body.append(line)
        return body
    return []


def text_services(text: str) -> dict[str, list[str]]:
    """Service name -> the lines of its definition."""
    services = block(text.splitlines(), "services")
    level = min((indent(line) for line in services if line.strip()), default=0)
    names = [
        match.group(1)
        for line in services
        if indent(line) == level and (match := re.match(r"^ *([\w.-]+):\s*$", line))
    ]
    return {name: block(services, name) for name in names}


def text_ports(service: list[str]) -> list[str]:
    """Each published port entry of a service, as one string (short or long syntax)."""
    entries: list[list[str]] = []
    for line in block(service, "ports"):
        if line.lstrip().startswith("- ") or not entries:
            entries.append([])
        entries[-1].append(line.strip().removeprefix("- "))
    return ["\n".join(entry) for entry in entries]


def port_on_loopback(entry: str | dict[str, Any]) -> bool:
    if isinstance(entry, dict):
        return str(entry.get("host_ip")) == LOOPBACK
    if "target:" in entry:  # long syntax, as text
        return (
            re.search(rf"^host_ip:\s*['\"]?{re.escape(LOOPBACK)}['\"]?$", entry, re.M) is not None
        )
    return entry.strip("'\"").startswith(f"{LOOPBACK}:")


class ResolvedCompose:
    """The few facts the tests need, from parsed YAML or from the text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.data = load_yaml(text)
        self.services_text = text_services(text) if self.data is None else {}

    def service_names(self) -> set[str]:
        if self.data is not None:
            return set(self.data["services"])
        return set(self.services_text)

    def environment(self, service: str, name: str) -> str | None:
        if self.data is not None:
            environment = self.data["services"][service].get("environment") or {}
            if isinstance(environment, list):
                environment = dict(item.partition("=")[::2] for item in environment)
            value = environment.get(name)
            return None if value is None else str(value)
        for line in block(self.services_text[service], "environment"):
            match = re.match(rf"^\s*{re.escape(name)}:\s*(.*?)\s*$", line)
            if match:
                value = match.group(1).strip("'\"")
                return None if value in ("", "null", "~") else value
        return None

    def replicas(self, service: str) -> int | None:
        if self.data is not None:
            replicas = (self.data["services"][service].get("deploy") or {}).get("replicas")
            return None if replicas is None else int(replicas)
        for line in block(self.services_text[service], "deploy"):
            match = re.match(r"^\s*replicas:\s*['\"]?(\d+)", line)
            if match:
                return int(match.group(1))
        return None

    def ports(self) -> dict[str, list[str | dict[str, Any]]]:
        if self.data is not None:
            return {
                name: list(service.get("ports") or [])
                for name, service in self.data["services"].items()
            }
        return {name: list(text_ports(lines)) for name, lines in self.services_text.items()}


# --- tests ------------------------------------------------------------------------------------


def test_compose_file_validates_with_loopback_ports_and_configured_worker(tmp_path: Path) -> None:
    config = ResolvedCompose(compose_config(tmp_path))

    missing = set(SERVICES) - config.service_names()
    assert not missing, f"services missing from docker-compose.yml: {sorted(missing)}"

    assert config.environment("worker", "TEMPORAL_ADDRESS") == "temporal:7233"
    assert config.environment("worker", "TEMPORAL_NAMESPACE") == "default"
    assert config.environment("worker", "JOBS_MODULES") == "app.jobs"
    assert config.environment("worker", "JOBS_QUEUES") == "default"
    assert config.environment("ui", "TEMPORAL_ADDRESS") == "temporal:7233"
    assert config.replicas("worker") == 2

    ports = config.ports()
    published = {name: entries for name, entries in ports.items() if entries}
    assert {"temporal", "ui"} <= set(published), f"expected published ports, got {published}"
    exposed = {
        name: [entry for entry in entries if not port_on_loopback(entry)]
        for name, entries in published.items()
    }
    assert not any(exposed.values()), f"ports not bound to {LOOPBACK}: {exposed}"
    assert "0.0.0.0:" not in config.text


def test_compose_passes_temporal_cloud_settings_to_workers(tmp_path: Path) -> None:
    config = ResolvedCompose(
        compose_config(
            tmp_path,
            TEMPORAL_ADDRESS="ns.acct.tmprl.cloud:7233",
            TEMPORAL_NAMESPACE="ns.acct",
            TEMPORAL_API_KEY="test-api-key",
            TEMPORAL_TLS="true",
            JOBS_QUEUES="high,default",
            WORKER_REPLICAS="5",
        )
    )

    assert config.environment("worker", "TEMPORAL_ADDRESS") == "ns.acct.tmprl.cloud:7233"
    assert config.environment("worker", "TEMPORAL_NAMESPACE") == "ns.acct"
    assert config.environment("worker", "TEMPORAL_API_KEY") == "test-api-key"
    assert config.environment("worker", "TEMPORAL_TLS") == "true"
    assert config.environment("worker", "JOBS_QUEUES") == "high,default"
    assert config.replicas("worker") == 5
    # The local UI keeps talking to the local server.
    assert config.environment("ui", "TEMPORAL_ADDRESS") == "temporal:7233"


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def test_dockerfile_runs_the_worker_from_env_as_non_root() -> None:
    instructions = dockerfile_instructions()
    last = {keyword: arguments for keyword, arguments in instructions}

    assert last["FROM"].startswith("python:3.11-slim")
    assert any(
        keyword == "RUN" and re.search(r"pip install\b.*\s\.(\s|$)", arguments)
        for keyword, arguments in instructions
    ), "the image should `pip install .` the project"

    command = " ".join(last.get(keyword, "") for keyword in ("ENTRYPOINT", "CMD"))
    assert "worker.py" in command
    assert "CMD" in last, "the worker should be the default command"
    cmd = json.loads(last["CMD"])  # exec form, so signals reach the process
    assert isinstance(cmd, list)
    script = " ".join(cmd)
    assert '--jobs "$JOBS_MODULES"' in script
    assert '--queue "$JOBS_QUEUES"' in script
    assert "exec python worker.py" in script

    env = " ".join(arguments for keyword, arguments in instructions if keyword == "ENV")
    assert "JOBS_MODULES=app.jobs" in env
    assert "JOBS_QUEUES=default" in env

    user = last.get("USER", "root").split(":")[0]
    assert user not in ("root", "0"), "the worker must not run as root"


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for required in (".venv", ".git", ".jobmodule", "bench/results"):
        assert required in patterns, f".dockerignore should exclude {required}"


def test_compose_server_runs_fairness_on_one_partition_as_the_dev_server(tmp_path: Path) -> None:
    """Priority and fairness order a queue exactly only per partition: both servers agree."""
    from jobmodule.dev.server import PRIORITY_DYNAMIC_CONFIG

    config = ResolvedCompose(compose_config(tmp_path))
    path = config.environment("temporal", "DYNAMIC_CONFIG_FILE_PATH")
    assert path is not None and f"deploy/temporal-dynamic-config.yaml:{path}:ro" in (
        COMPOSE_FILE.read_text()
    )
    text = (REPO / "deploy" / "temporal-dynamic-config.yaml").read_text()
    settings = dict(re.findall(r"^([\w.]+):\n\s+- value: (\S+)$", text, re.M))
    expected = dict(value.split("=", 1) for value in PRIORITY_DYNAMIC_CONFIG)
    assert settings == expected
