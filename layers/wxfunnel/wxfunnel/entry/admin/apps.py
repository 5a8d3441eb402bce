"""The apps an operator can pick: their names, kinds and time zones (never a secret, never the rules)."""

from __future__ import annotations

from typing import Any

from wxfunnel.config.base import InvalidAppConfig, UnknownApp
from wxfunnel.config.loader import app_names, load_app


def list_apps() -> dict[str, Any]:
    """GET /apps → {"items": [{"name", "kind", "time_zone"}]}; an app whose configuration is unusable is listed with
    `"kind": null` and its problem, so the operator sees why it cannot be used."""
    items: list[dict[str, Any]] = []
    for name in app_names():
        try:
            app = load_app(name)
        except UnknownApp:
            continue  # deleted since it was listed
        except InvalidAppConfig as exc:
            items.append({"name": name, "kind": None, "time_zone": None, "problem": str(exc)})
            continue
        items.append({"name": name, "kind": app.kind.value, "time_zone": app.time_zone})
    return {"items": items}
