"""Lyfta's password policy: length counted in code points (R13, R14), no composition rules (R15),
common, context and guessable passwords refused with a Swedish reason (R16), no hints (R20)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from zxcvbn import matching, zxcvbn

from lyfta.accounts.models import User
from lyfta.accounts.passwords import (
    CommonPasswordSwedishValidator,
    LengthValidator,
    StrengthValidator,
    UserInfoValidator,
    county_words,
    swedish_dictionary,
)
from lyfta.accounts.seed import DEMO_PASSWORD, DEMO_USERS, DemoUser
from lyfta.accounts.tests.factories import UserFactory

VALIDATORS: list[
    LengthValidator | CommonPasswordSwedishValidator | UserInfoValidator | StrengthValidator
] = [
    LengthValidator(),
    CommonPasswordSwedishValidator(),
    UserInfoValidator(),
    StrengthValidator(),
]
SWEDISH = re.compile(r"[åäö]|\b(inte|och|för|lösenordet)\b", re.IGNORECASE)
UNCOMMON_WORDS = (
    "tranbär kanot fjällräv glöd mörker pelikan lakrits ödla kompass rabarber snöstorm tuba gädda "
    "mossa trumpet valross kaffekopp lingon isbrytare fyrtorn kardemumma skärgård ripa vedbod "
    "kvarnhjul bläckfisk tallkotte visselpipa hängmatta strömming"
)


def rejections(password: str, user: User | None = None) -> dict[str, str]:
    """Every refusal of Lyfta's four validators, as code → message."""
    found: dict[str, str] = {}
    for validator in VALIDATORS:
        try:
            validator.validate(password, user)
        except ValidationError as exc:
            for error in exc.error_list:
                found[str(error.code)] = error.messages[0]
    return found


@pytest.fixture
def anna() -> User:
    """An unsaved user with a name, username, title, workplace and personnummer."""
    return User(
        username="akarlsson",
        first_name="Anna",
        last_name="Karlsson",
        personnummer="198112189880",
        title="Arbetsterapeut",
        workplace="Vårdcentralen Sunne",
        email="anna.karlsson@example.se",
    )


def passphrase(length: int) -> str:
    """Uncommon words, spaces, å/ä/ö and an emoji: exactly `length` code points."""
    text = (UNCOMMON_WORDS + " ") * 3
    return text[: length - 1] + "🦔"


# --- R13: minimum length ---------------------------------------------------------------------


def test_r13_fourteen_characters_are_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        LengthValidator().validate("kanot fjällräv")

    assert exc.value.error_list[0].code == "password_too_short"
    assert exc.value.messages == ["Lösenordet är för kort: det behöver minst 15 tecken (nu 14)."]


def test_r13_fifteen_characters_are_accepted_when_otherwise_strong(anna: User) -> None:
    password = "mörk kanot glöd"
    assert len(password) == 15

    assert rejections(password, anna) == {}


# --- R14: long passphrases, any Unicode, code points, no truncation ----------------------------


@pytest.mark.parametrize("length", [64, 256])
def test_r14_long_passphrases_with_spaces_and_unicode_are_accepted(length: int, anna: User) -> None:
    password = passphrase(length)
    assert len(password) == length and " " in password and "ä" in password

    assert rejections(password, anna) == {}


def test_r14_257_characters_are_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        LengthValidator().validate(passphrase(257))

    assert exc.value.error_list[0].code == "password_too_long"
    assert exc.value.messages == ["Lösenordet är för långt: högst 256 tecken (nu 257)."]


def test_r14_each_emoji_counts_as_one_character() -> None:
    emoji = "🦔🦊🐻🐺🦉🐸🐢🐙🦀🐝🦋🐌🐞🦎🐳"

    LengthValidator().validate(emoji)

    with pytest.raises(ValidationError, match=r"\(nu 14\)"):
        LengthValidator().validate(emoji[:14])


def test_r14_spaces_are_counted_not_stripped() -> None:
    LengthValidator().validate("kanot fjällräv ")  # 14 characters and a trailing space


def test_r14_nothing_is_truncated_or_case_folded_before_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    first = passphrase(120)
    second = first[:100] + ("X" if first[100] != "X" else "Y") + first[101:]
    assert first != second and first[:100] == second[:100] and len(second) == 120

    encoded = make_password(first, hasher="argon2")

    assert encoded.startswith("argon2$argon2id$")
    assert check_password(first, encoded)
    assert not check_password(second, encoded)
    assert not check_password(first.upper(), encoded)
    assert not check_password(first[:72], encoded)


# --- R15: no composition rules -----------------------------------------------------------------


def test_r15_all_lowercase_passphrase_is_accepted(anna: User) -> None:
    assert rejections("blåbär kanot fjällräv glöd mörker", anna) == {}


def test_r15_configured_validators_demand_no_digits_uppercase_or_symbols() -> None:
    """Lowercase letters and spaces only, through settings.AUTH_PASSWORD_VALIDATORS."""
    for password in ["blåbär kanot fjällräv glöd mörker", "pelikan lakrits ödla kompass"]:
        validate_password(password)


# --- R16: common, context and guessable passwords, each with a Swedish reason -------------------

REFUSED = [
    ("sommar2024sommar2024", "password_words_and_years"),
    ("Karlstad2025Karlstad!", "password_words_and_years"),
    ("Värmland1987!!", "password_words_and_years"),
    ("sommar i Karlstad 2024", "password_words_and_years"),
    ("Lyfta-lyfta-2026", "password_words_and_years"),
    ("lösenordlösenord", "password_too_common"),
    ("Djurgården2024!!", "password_too_common"),
    ("passwordpassword", "password_too_common"),
    ("hjälpmedel123456", "password_too_guessable"),
    ("qwertyuiopåasdf", "password_too_guessable"),
    ("1234567890123456", "password_too_guessable"),
    # "jag älskar dig så mycket" scores 4: zxcvbn adds 10^4 guesses for every further piece of a
    # password, so five words with spaces between them already pass 10^10 whatever the words.
    # Three very common words with nothing between them stay under it.
    ("grattispåfödelsedagen", "password_too_guessable"),
    ("anna karlsson fjällräv", "password_contains_name"),
    ("kanot AKARLSSON glöd", "password_contains_username"),
    ("kanot fjällräv 81 12 18", "password_contains_personnummer"),
    ("kanot fjällräv 811218-9880", "password_contains_personnummer"),
]


@pytest.mark.parametrize(("password", "code"), REFUSED)
def test_r16_guessable_password_is_refused_with_a_swedish_reason(
    password: str, code: str, anna: User
) -> None:
    found = rejections(password, anna)

    assert code in found
    for message in found.values():
        assert message.strip() and SWEDISH.search(message), message


def test_r16_strength_refusal_ends_with_the_passphrase_hint() -> None:
    with pytest.raises(ValidationError) as exc:
        StrengthValidator().validate("hjälpmedel123456")

    assert exc.value.messages[0].startswith("Lösenordet är för lätt att gissa.")
    assert exc.value.messages[0].endswith("Använd gärna en lösenfras med flera ovanliga ord.")


def test_r16_words_and_years_refusal_names_the_pattern() -> None:
    with pytest.raises(ValidationError) as exc:
        StrengthValidator().validate("Karlstad2025Karlstad!")

    assert exc.value.messages == [
        "Lösenordet består av ord och årtal som är lätta att gissa, t.ex. årstid eller ort med "
        "årtal. Använd gärna en lösenfras med flera ovanliga ord."
    ]


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("grattispåfödelsedagen", "Det innehåller vanliga ord."),
        ("annaeriksson1985", "Det innehåller vanliga namn."),
        ("annaeriksson1985", "Det innehåller datum eller årtal."),
        ("passwordpassword1", "Det innehåller upprepningar"),
        ("abcdefghijklmnopq", "Det innehåller följder"),
        ("poiuytrewqlkjhgf", "Det innehåller tangentbordsmönster"),
        ("1234567890123456", "Det innehåller ett vanligt lösenord."),
        ("hjälpmedel123456", "ord som hör till Lyfta"),
    ],
)
def test_r16_zxcvbn_feedback_is_given_in_swedish(password: str, reason: str) -> None:
    with pytest.raises(ValidationError) as exc:
        StrengthValidator().validate(password)

    assert reason in exc.value.messages[0]


def test_r16_swedish_words_are_a_zxcvbn_dictionary_loaded_once() -> None:
    dictionary = swedish_dictionary()

    assert swedish_dictionary() is dictionary
    assert matching.RANKED_DICTIONARIES["swedish"] is dictionary
    assert len(dictionary) > 30_000 and dictionary["lösenord"] < dictionary["kärlek"] < 100
    result = zxcvbn("grattispåfödelsedagen", user_inputs=list(county_words()))
    assert {m.get("dictionary_name") for m in result["sequence"]} == {"swedish", None}


def test_r16_context_words_include_the_county_municipalities() -> None:
    assert {"lyfta", "hjälpmedel", "sesam", "websesam", "säffle", "saffle", "årjäng"} <= set(
        county_words()
    )


@pytest.mark.parametrize(
    "password",
    [
        DEMO_PASSWORD,
        "pelikan lakrits ödla kompass",
        "rabarber snöstorm tuba gädda",
        "mossa trumpet valross kaffekopp",
        "ett långt testlösenord med många ord i sig",  # the test factories' password
    ],
)
def test_r16_uncommon_passphrases_are_accepted(password: str, anna: User) -> None:
    assert rejections(password, anna) == {}


@pytest.mark.parametrize("demo", DEMO_USERS, ids=lambda demo: demo.username)
def test_r16_demo_password_is_accepted_for_every_demo_user(demo: DemoUser) -> None:
    user = User(
        username=demo.username,
        first_name=demo.first_name,
        last_name=demo.last_name,
        title=demo.title,
        personnummer=demo.personnummer,
        email=f"{demo.username}@demo.lyfta.invalid",
    )

    assert rejections(DEMO_PASSWORD, user) == {}


@pytest.mark.django_db
def test_r16_demo_password_is_accepted_for_a_saved_user() -> None:
    user = UserFactory(username="blindqvist", first_name="Birgitta", last_name="Lindqvist")

    assert rejections(DEMO_PASSWORD, user) == {}


@pytest.mark.django_db
def test_r16_saved_users_name_and_personnummer_are_refused() -> None:
    user = UserFactory(username="blindqvist", first_name="Birgitta", last_name="Lindqvist")
    digits = user.personnummer[2:8]

    assert "password_contains_name" in rejections("kanot lindqvist fjällräv", user)
    assert "password_contains_personnummer" in rejections(f"kanot fjällräv {digits}", user)


def test_r16_names_shorter_than_three_letters_are_allowed() -> None:
    user = User(username="bo.ek", first_name="Bo", last_name="Ek", personnummer="198112189880")

    UserInfoValidator().validate("bokstav ekorre fjällräv", user)


def test_r16_the_users_own_words_weaken_a_password_only_for_that_user() -> None:
    user = User(username="kvist", title="Sjukgymnast", workplace="Björkhagens korttidsboende")
    password = "björkhagens korttidsboende"

    StrengthValidator().validate(password)
    with pytest.raises(ValidationError):
        StrengthValidator().validate(password, user)


def test_r16_help_texts_are_swedish() -> None:
    for validator in VALIDATORS:
        text = validator.get_help_text()
        assert text.strip() and SWEDISH.search(text), text


def test_r16_strength_check_is_fast_after_warm_up(anna: User) -> None:
    """A sanity bound, not a benchmark: the Swedish dictionary is loaded once, not per call."""
    validator = StrengthValidator()
    validator.validate(DEMO_PASSWORD, anna)
    words = UNCOMMON_WORDS.split()
    passwords = [" ".join(words[i : i + 4]) for i in range(20)]

    start = time.perf_counter()
    for password in passwords:
        validator.validate(password, anna)

    assert time.perf_counter() - start < 3


# --- R20: no password hints or security questions ----------------------------------------------


def test_r20_user_model_has_no_hint_or_security_question() -> None:
    names = [field.name for field in User._meta.get_fields()]

    assert not [n for n in names if re.search("hint|question|answer|ledtr|fråga|svar", n)]
