"""The catalogue manager persona: karin keeps the assortment at the centre."""

from __future__ import annotations

import pytest

from conftest import County, Persona, make_persona
from lyfta.access.roles import Role


@pytest.fixture
def karin(county: County) -> Persona:
    """The centre's catalogue manager (sortiment och inköp)."""
    return make_persona(
        county.centre, Role.CATALOGUE_MANAGER, "karin", first_name="Karin", last_name="Sortiment"
    )
