"""The people directory as a built-in plugin."""

from __future__ import annotations

from core import __version__
from core.contracts import ModuleInfo
from core.plugins import hookimpl


@hookimpl
def isogov_module():
    return ModuleInfo(name="people", title_vi="Danh bạ cán bộ", title_en="People directory", version=__version__,
                      builtin=True)


@hookimpl
def isogov_piccolo_app():
    return "core.people.piccolo_app"
