"""Whether this process has registered every area's plug-ins: approval kinds, case kinds, event subscribers,
jobs, notification templates.

The core never imports an area. The entry points (app.py, worker.py, cli.py; the tests' conftest) call
`crm.areas.load_areas()`, which imports them and marks the registry loaded. An event emitted before that would
be written without the deliveries of subscribers this process never heard of, so `emit` refuses instead."""

from __future__ import annotations


class RegistryNotLoaded(RuntimeError):
    """Something needed every area's registrations before the entry point loaded them."""


_loaded = False


def mark_loaded() -> None:
    global _loaded
    _loaded = True


def is_loaded() -> bool:
    return _loaded


def require_loaded(what: str) -> None:
    if not _loaded:
        raise RegistryNotLoaded(
            f"{what} before the areas were loaded: the entry point must call crm.areas.load_areas() first"
        )
