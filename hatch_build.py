"""Hatch build hook: the wheel ships the demo page that ``make web`` builds.

``web/dist`` (esbuild's output, not committed) goes into the wheel as package data,
``cognito_gate/server/web_dist``, where ``cognito_gate.server.web`` looks first, so that ``GET /``
serves the page from an installed wheel; and into the sdist as ``web/dist``, so that a wheel built
from the sdist ships it too. An editable install takes nothing: it serves the checkout's
``web/dist``. With no page built, the build goes on with a warning, and ``GET /`` of what it
installs says how to build the page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

#: Where the wheel keeps the page (``cognito_gate.server.web.PACKAGED``).
PACKAGED = "cognito_gate/server/web_dist"


class WebDistHook(BuildHookInterface):
    """Adds the built ``web/dist`` to the wheel and the sdist."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "editable":
            return
        dist = Path(self.root) / "web" / "dist"
        if not (dist / "index.html").is_file():
            self.app.display_warning(
                "cognito-gate: web/dist is not built (run `make web`): this build ships no demo"
                " page, and GET / will say how to build it"
            )
            return
        build_data["force_include"][str(dist)] = (
            PACKAGED if self.target_name == "wheel" else "web/dist"
        )
