"""Worker processes for parallel verification. They are started fresh ("spawn"), never forked:
a forked child would share the parent's open database sockets, and two processes talking over one
PostgreSQL connection corrupt it. This module imports nothing from Django at load time, because a
spawned child unpickles these functions before Django is set up."""

from __future__ import annotations

import os
from typing import Any


def init_child(database: dict[str, Any]) -> None:
    """Set Django up in the new process and point it at the parent's database (under test, that
    is the test database, which the child's settings module alone would not name)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lyfta.settings")
    import django

    django.setup()
    from django.db import connections

    connections["default"].settings_dict.update(database)


def verify_range(args: tuple[Any, ...]) -> Any:
    from django.db import connections

    from lyfta.audit.verify_range import _verify_range

    try:
        return _verify_range(*args)
    finally:
        connections.close_all()
