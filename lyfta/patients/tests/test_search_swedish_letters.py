"""The name search folds the case of Å, Ä and Ö on every database (attack run 2, L6): on SQLite
LIKE folded ASCII only, so "östlund" missed "Östlund"."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import County
from lyfta.core.sqlite import like
from lyfta.patients.models import CareRelationship, Patient

pytestmark = pytest.mark.django_db


def test_l6_name_search_folds_swedish_letters(as_alice: Client, county: County) -> None:
    patient = Patient.objects.create(
        identifier="194001019803", id_kind="personnummer", first_name="Åsa", last_name="Östlund"
    )
    CareRelationship.objects.create(
        unit=county.unit_a, patient=patient, origin="order", valid_from=timezone.localdate()
    )
    for query in ("östlund", "ÖSTLUND", "åsa", "ÅSA Östl", "stlu"):
        page = as_alice.get(reverse("patients:search"), {"q": query}).content.decode()
        assert "Åsa Östlund" in page, query
    page = as_alice.get(reverse("patients:search"), {"q": "östlunda"}).content.decode()
    assert "Åsa Östlund" not in page


def test_l6_like_keeps_wildcards_and_escape() -> None:
    assert like("%ÖST%", "Östlund") == 1
    assert like("ö_tlund", "ÖSTLUND") == 1
    assert like("ö_tlund", "Östlunda") == 0
    # Escaped wildcards match themselves only (Django escapes % and _ in a searched word).
    assert like("50\\%%", "50% rabatt", "\\") == 1
    assert like("50\\%%", "500 rabatt", "\\") == 0
    assert like("a\\_b", "a_b", "\\") == 1 and like("a\\_b", "axb", "\\") == 0
    assert like("%.*%", "a.*b") == 1 and like("%.*%", "ab") == 0  # no regular expression leaks
    assert like(None, "x") is None and like("x", None) is None


def test_a_word_of_two_letters_matches_the_start_of_a_name(
    as_alice: Client, county: County
) -> None:
    """Three letters or more match anywhere in the first or last name; one or two letters only
    at the start of either (issue 19: two letters anywhere read every patient at national size)."""
    names = {"Eva Ek": "194001019803", "Per Eklund": "194002029802", "Ola Bek": "194003039801"}
    for name, number in names.items():
        first, last = name.split()
        patient = Patient.objects.create(
            identifier=number, id_kind="personnummer", first_name=first, last_name=last
        )
        CareRelationship.objects.create(
            unit=county.unit_a, patient=patient, origin="order", valid_from=timezone.localdate()
        )

    def found(query: str) -> set[str]:
        page = as_alice.get(reverse("patients:search"), {"q": query}).content.decode()
        return {name for name in names if name in page}

    assert found("ek") == {"Eva Ek", "Per Eklund"}
    assert found("Ek Ev") == {"Eva Ek"}
    assert found("ekl") == {"Per Eklund"}
    assert found("bek") == {"Ola Bek"}
    assert found("lund") == {"Per Eklund"}  # three letters or more: anywhere
    # The own-patient list filters alike.
    page = as_alice.get(reverse("patients:mine"), {"q": "ek"}).content.decode()
    assert "Ek" in page and "Eklund" in page and "Bek" not in page
