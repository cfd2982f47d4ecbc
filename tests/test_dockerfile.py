"""The image's Dockerfile, parsed (no Docker engine here): multi-stage, the locked dependencies installed with
their hashes, a non-root user, one image whose command picks the process. No database needed."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def instructions() -> list[dict[str, str]]:
    parser = DockerfileParser(path=str(ROOT / "Dockerfile"))
    return parser.structure


def stages(instructions: list[dict[str, str]]) -> list[list[dict[str, str]]]:
    out: list[list[dict[str, str]]] = []
    for item in instructions:
        if item["instruction"] == "FROM":
            out.append([])
        if out:
            out[-1].append(item)
    return out


def test_multi_stage_with_a_slim_runtime(instructions: list[dict[str, str]]) -> None:
    build, runtime = stages(instructions)
    assert build[0]["value"].endswith("AS build") and runtime[0]["value"].endswith("AS runtime")
    copies = [i["value"] for i in runtime if i["instruction"] == "COPY"]
    assert copies == ["--from=build /opt/venv /opt/venv"]  # no source tree, no lock, no compiler in the final image
    assert not [i for i in runtime if i["instruction"] == "RUN" and "pip" in i["value"]]


def test_the_locked_dependencies_are_installed_with_their_hashes(instructions: list[dict[str, str]]) -> None:
    build = stages(instructions)[0]
    runs = [shlex.split(i["value"].replace("\\\n", " ")) for i in build if i["instruction"] == "RUN"]
    installs = [r for r in runs if "pip" in " ".join(r[:1]) and "install" in r and "-r" in r]
    assert len(installs) == 1
    args = installs[0]
    assert "--require-hashes" in args and "--no-deps" in args
    lock = args[args.index("-r") + 1]
    assert lock == "requirements-prod.lock"
    assert any(i["instruction"] == "COPY" and lock in i["value"] for i in build)
    # isogov itself: no build isolation, so the build backend comes from the hashed lock too
    own = [r for r in runs if "install" in r and "." in r]
    assert own and "--no-build-isolation" in own[0] and "--no-deps" in own[0]


def locked(path: Path) -> dict[str, str]:
    return dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+) \\$", path.read_text(), flags=re.M))


def test_the_image_lock_matches_the_development_lock() -> None:
    prod, dev = locked(ROOT / "requirements-prod.lock"), locked(ROOT / "requirements.lock")
    text = (ROOT / "requirements-prod.lock").read_text()
    assert "--hash=sha256:" in text and "://" not in text.split("\n", 2)[2]  # hashes, no download addresses
    assert {name: dev.get(name) for name in prod} == prod  # one version of each package in both
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {re.split(r"[\[=<>]", dep)[0].lower() for dep in project["dependencies"]}
    assert runtime <= set(prod)
    dev_only = {re.split(r"[\[=<>]", dep)[0].lower() for dep in project["optional-dependencies"]["dev"]} - runtime
    dev_only -= {"httpx", "pyyaml"}  # litestar needs these at run time too
    assert {"pytest", "moto", "helm-python-sdk", "kubernetes-validate"} <= dev_only
    assert not dev_only & set(prod), "dev tools must stay out of the image"
    assert "setuptools" in prod  # the build backend, installed from the lock
    assert "tzdata" in prod  # the slim base image has no zone files: ISOGOV_TIMEZONE needs the package


def test_runs_as_an_unprivileged_user(instructions: list[dict[str, str]]) -> None:
    runtime = stages(instructions)[-1]
    users = [i["value"] for i in runtime if i["instruction"] == "USER"]
    assert users, "the final stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"} and int(user) >= 1000
    # the user exists in the image: created by a RUN before the USER instruction
    created = [i["value"] for i in runtime if i["instruction"] == "RUN" and "useradd" in i["value"]]
    assert created and f"--uid {user}" in created[0]
    assert runtime[-1]["instruction"] in {"CMD", "ENTRYPOINT"}


def test_one_image_whose_command_picks_the_process(instructions: list[dict[str, str]]) -> None:
    import click

    from core.cli import main

    runtime = stages(instructions)[-1]
    entry = [i["value"] for i in runtime if i["instruction"] == "ENTRYPOINT"]
    cmd = [i["value"] for i in runtime if i["instruction"] == "CMD"]
    assert entry == ['["isogov"]'] and cmd == ['["api"]']
    assert {"api", "worker", "scheduler", "migrate"} <= set(main.list_commands(click.Context(main)))
    env = " ".join(i["value"] for i in runtime if i["instruction"] == "ENV")
    for needed in ("ISOGOV_ENV=production", "ISOGOV_HOST=0.0.0.0", "PYTHONDONTWRITEBYTECODE=1", "ISOGOV_VAR_DIR=/tmp/"):
        assert needed in env
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "var", ".git", "tests"} <= set(ignored)
