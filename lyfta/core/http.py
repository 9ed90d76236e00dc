"""Request type with the attributes Lyfta's middleware adds, for type checking views."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from lyfta.access.actor import Actor
    from lyfta.accounts.models import User


class LyftaRequest(HttpRequest):
    """An HttpRequest after ActorMiddleware: `actor` is the signed-in user in their assignment."""

    actor: Actor
    user: User
