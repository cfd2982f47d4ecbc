"""This repository's own test set-up: the example plugin of tests/example_plugin is registered for every test
(core's pytest plugin, core/testing.py, does not need it: a plugin in another repository uses it without)."""

from __future__ import annotations

import os

EXAMPLE_PLUGIN = "tests.example_plugin.plugin"


def pytest_configure() -> None:
    extra = [p for p in os.environ.get("ISOGOV_EXTRA_PLUGINS", "").split(",") if p]
    if EXAMPLE_PLUGIN not in extra:
        os.environ["ISOGOV_EXTRA_PLUGINS"] = ",".join([*extra, EXAMPLE_PLUGIN])
