"""Import a bot directory's ``handlers.py`` explicitly (no scanning, no import side effects).

The bot directory is imported as a package named ``safebot_bots.<dirname>`` so that its
handlers can use relative imports (``from .backend import open_backend``).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from safebot.engine.handlers import Routes
from safebot.errors import ConfigError

__all__ = ["load_routes"]


def _package_for(bot_dir: Path) -> str:
    name = "safebot_bots." + re.sub(r"\W", "_", bot_dir.resolve().name)
    if "safebot_bots" not in sys.modules:
        root = ModuleType("safebot_bots")
        root.__path__ = []
        sys.modules["safebot_bots"] = root
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, bot_dir / "__init__.py", submodule_search_locations=[str(bot_dir)]
        )
        if spec is None or spec.loader is None:
            raise ConfigError("cannot import bot directory", path=str(bot_dir))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        if (bot_dir / "__init__.py").exists():
            spec.loader.exec_module(module)
    return name


def load_routes(bot_dir: Path, handlers_file: str) -> Routes:
    """Import ``handlers_file`` and call its ``setup(bot_dir) -> Routes``."""
    path = bot_dir / handlers_file
    if not path.exists():
        raise ConfigError("handlers module not found", path=str(path), field="handlers")
    package = _package_for(bot_dir)
    name = f"{package}.{path.stem}"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ConfigError("cannot import handlers module", path=str(path))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 - the bot's own code: any failure is one config error line
            del sys.modules[name]
            raise ConfigError(f"importing the handlers module failed ({type(exc).__name__})", path=str(path)) from None
    setup = getattr(module, "setup", None)
    if not callable(setup):
        raise ConfigError("handlers module must define setup(bot_dir) -> Routes", path=str(path))
    try:
        routes = setup(bot_dir)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - the bot's set-up code: any failure is one config error line
        # The bot's own set-up code (opening a back end, say) failed: one clear line, no traceback.
        raise ConfigError(f"setup() in the handlers module failed ({type(exc).__name__})", path=str(path)) from None
    if not isinstance(routes, Routes):
        raise ConfigError(f"setup() returned {type(routes).__name__}, not safebot.engine.Routes", path=str(path))
    return routes
