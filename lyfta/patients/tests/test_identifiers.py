"""Personnummer, samordningsnummer and reservnummer: accepted forms, normalisation and Swedish
reasons for every rejection."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from lyfta.patients.identifiers import Kind, parse

TODAY = dt.date(2026, 11, 27)


@pytest.mark.parametrize(
    "raw",
    ["194001019803", "19400101-9803", "400101-9803", "4001019803", " 19400101 9803 "],
)
def test_personnummer_in_every_usual_form_becomes_twelve_digits(raw: str) -> None:
    parsed = parse(raw, today=TODAY)
    assert (parsed.value, parsed.kind, parsed.birth_date) == (
        "194001019803",
        Kind.PERSONNUMMER,
        dt.date(1940, 1, 1),
    )
    assert parsed.display == "19400101-9803"


def test_ten_digits_take_the_latest_century_in_the_past() -> None:
    assert parse("200101-9815", today=TODAY).value.startswith("2020")
    assert parse("300101-9805", today=TODAY).value.startswith("1930")


def test_a_plus_sign_means_a_hundred_years_or_more() -> None:
    assert parse("200101+9815", today=TODAY).value.startswith("1920")


def test_samordningsnummer_adds_sixty_to_the_day() -> None:
    parsed = parse("194001619800", today=TODAY)
    assert (parsed.kind, parsed.birth_date) == (Kind.SAMORDNINGSNUMMER, dt.date(1940, 1, 1))
    assert parsed.value == "194001619800"


def test_reservnummer_has_its_own_form() -> None:
    parsed = parse("19840512-R123", today=TODAY)
    assert (parsed.value, parsed.kind) == ("19840512R123", Kind.RESERVNUMMER)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("19400101-9804", "Kontrollsiffran"),
        ("19401301-9803", "giltigt datum"),
        ("19400230-9807", "giltigt datum"),
        ("abc", "ÅÅÅÅMMDD-NNNN"),
        ("1940010198", "giltigt datum"),
        ("19400101-98031", "ÅÅÅÅMMDD-NNNN"),
        ("", "Ange personnummer"),
        ("20291201-9813", "framtiden"),
        ("19841332-R123", "giltigt datum"),
    ],
)
def test_invalid_numbers_get_a_swedish_reason(raw: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        parse(raw, today=TODAY)
