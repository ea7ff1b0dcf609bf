"""Jinja2 templates shipped as package data (``console/templates``), escaped by default.

Every page is one self-contained file: the stylesheet is inlined, there is no script, font
or image to fetch, so a saved page reads offline and prints. The served console sends a
Content-Security-Policy that allows exactly that inline stylesheet (:data:`STYLE_HASH`).

>>> "<script>" in render("login.html", error="<script>", nav=None, title="Sign in")
False
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

__all__ = ["CSS", "STYLE_HASH", "render"]


def _css() -> str:
    return resources.files("safebot.console").joinpath("templates", "console.css").read_text(encoding="utf-8")


CSS = _css()
#: the CSP source for the one inline stylesheet every page carries
STYLE_HASH = "'sha256-" + base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode() + "'"


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("safebot.console", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda n: f"{n:,}" if isinstance(n, int) else n
    env.globals["css"] = CSS
    return env


def render(template: str, **context: Any) -> str:
    """Render ``template`` with ``context`` (and ``css``, ``generated``)."""
    context.setdefault("generated", _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))
    return _env().get_template(template).render(**context)
