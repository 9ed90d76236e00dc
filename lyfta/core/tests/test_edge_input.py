"""Input at the edge (issue 12, build point 5; findings 5, 7 and part of 9): identifiers take the
digits 0–9 only, birth numbers and birth dates are real ones, text fields refuse control
characters, names refuse bidi and zero-width characters, and hostile input gets a 400 or a form
error, never a server error. Each test here failed before its fix."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil
from urllib.parse import quote

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

import lyfta
from conftest import County, Persona, signed_in
from lyfta.accounts.forms import UserForm
from lyfta.audit.models import ReviewCheck
from lyfta.core.forms import EdgeMixin
from lyfta.core.luhn import luhn_digit
from lyfta.organisations.models import validate_organisation_number
from lyfta.patients import services as patient_services
from lyfta.patients.forms import CorrectForm, RegisterForm
from lyfta.patients.identifiers import Kind, parse
from lyfta.patients.models import Patient

TODAY = dt.date(2026, 11, 27)
EXISTING = "194003149806"  # birth number 980: Skatteverket's series for test identities
FULLWIDTH = "１９４００３１４９８０６"
ARABIC_INDIC = "١٩٤٠٠٣١٤٩٨٠٦"
RLO, PDF, ZWSP, ZWJ, LRI, BOM = "\u202e", "\u202c", "\u200b", "\u200d", "\u2066", "\ufeff"


def number(born: str, serial: str) -> str:
    """A 12-digit number with a correct check digit: born YYYYMMDD (day + 60 for a
    samordningsnummer) and the three-digit birth number `serial`."""
    return born + serial + luhn_digit(born[2:] + serial)


# --- Finding 5: digits other than 0–9 --------------------------------------------------------


@pytest.mark.parametrize("raw", [FULLWIDTH, ARABIC_INDIC, "19400314-９８０６", "١٩٤٠٠٣١٤-R١٢٣"])
def test_r44_r53_an_identifier_takes_the_digits_0_to_9_only(raw: str) -> None:
    with pytest.raises(ValidationError) as error:
        parse(raw, today=TODAY)
    assert "0–9" in error.value.messages[0]


@pytest.mark.django_db
@pytest.mark.parametrize("raw", [FULLWIDTH, ARABIC_INDIC])
def test_r44_r53_fullwidth_digits_do_not_register_a_second_patient(
    alice: Persona, raw: str
) -> None:
    """The same person written in fullwidth or Arabic-Indic digits was a second patient, outside
    the first record's blocks, protection and log extract (finding 5)."""
    Patient.objects.create(
        identifier=EXISTING, id_kind="personnummer", first_name="Aina", last_name="Apel"
    )
    with pytest.raises(ValidationError):
        patient_services.patient_register(
            actor=alice.actor, identifier=raw, first_name="Aina", last_name="Apel"
        )
    assert list(Patient.objects.values_list("identifier", flat=True)) == [EXISTING]


@pytest.mark.django_db
def test_r44_the_registration_page_says_why_in_swedish(client: Client, alice: Persona) -> None:
    signed_in(client, alice)
    response = client.post(
        reverse("patients:register"),
        {"identifier": FULLWIDTH, "first_name": "Aina", "last_name": "Apel"},
    )
    assert response.status_code == 400
    assert "vanliga siffror" in response.content.decode()
    assert not Patient.objects.exists()


@pytest.mark.django_db
def test_r1_the_account_form_refuses_other_digits(county: County) -> None:
    form = UserForm({**ACCOUNT, "personnummer": FULLWIDTH})
    assert not form.is_valid()
    assert "vanliga siffror" in str(form.errors["personnummer"])


def test_organisation_numbers_and_postal_codes_take_the_digits_0_to_9_only() -> None:
    with pytest.raises(ValidationError, match="0–9"):
        validate_organisation_number("２３２１００-００１６")
    validate_organisation_number("232100-0016")
    form = RegisterForm({"identifier": EXISTING, "first_name": "A", "last_name": "B"})
    assert form.is_valid(), form.errors
    form = RegisterForm(
        {"identifier": EXISTING, "first_name": "A", "last_name": "B", "postal_code": "６５１ ８４"}
    )
    assert "postal_code" in form.errors


def test_item_article_and_serial_numbers_take_the_digits_0_to_9_only() -> None:
    """Item numbers, article numbers and serial numbers: a fullwidth digit is refused with the
    reason, not looked up and "not found"."""
    from lyfta.inventory.forms import BufferLevelForm, RecallForm
    from lyfta.orders.logistics_forms import PickForm

    pick = PickForm({"individual_number": "００１２３４５"})
    assert "0–9" in str(pick.errors["individual_number"])
    assert PickForm({"individual_number": "0012345"}).is_valid()
    level = BufferLevelForm({"article": "T-LYFT-０１", "safety_level": "1"})
    assert "0–9" in str(level.errors["article"])
    recall = RecallForm({"artikel": "", "serie_fran": "SN-١٠", "serie_till": ""})
    assert "0–9" in str(recall.errors["serie_fran"])


# --- Finding 9: birth number 000, future birth dates ------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kind"),
    [(number("19400314", "000"), "personnummer"), (number("19400374", "000"), "samordning")],
)
def test_r1_birth_number_000_is_refused(raw: str, kind: str) -> None:
    """Skatteverket's birth numbers run 001–999; the shared test data of the `personnummer`
    projects marks 000 invalid."""
    with pytest.raises(ValidationError, match="000"):
        parse(raw, today=TODAY)
    assert parse(number("19400314", "001"), today=TODAY).kind == Kind.PERSONNUMMER
    assert parse(number("19400374", "999"), today=TODAY).kind == Kind.SAMORDNINGSNUMMER


def test_r1_a_reservnummer_with_a_future_birth_date_is_refused() -> None:
    with pytest.raises(ValidationError, match="framtiden"):
        parse("20261128-R123", today=TODAY)
    assert parse("20261127-R123", today=TODAY).kind == Kind.RESERVNUMMER


ACCOUNT = {
    "first_name": "Ny",
    "last_name": "Person",
    "username": "ny",
    "title": "AT",
    "workplace": "X",
    "valid_from": "2026-01-01",
}


@pytest.mark.django_db
def test_r1_the_account_form_refuses_a_future_birth_date() -> None:
    born = timezone.localdate() + dt.timedelta(days=1)
    form = UserForm({**ACCOUNT, "personnummer": number(born.strftime("%Y%m%d"), "123")})
    assert not form.is_valid()
    assert "framtiden" in str(form.errors["personnummer"])
    form = UserForm({**ACCOUNT, "personnummer": number("19900101", "981")})
    assert form.is_valid(), form.errors


# --- Finding 9: names, and control characters in every text field -----------------------------


@pytest.mark.parametrize(
    "name",
    [f"Anna{RLO}nossnE{PDF}", f"An{ZWSP}na", f"A{ZWJ}nna", f"{LRI}Anna", f"{BOM}Anna"],
)
def test_r71_patient_names_refuse_bidi_and_zero_width_characters(name: str) -> None:
    """A name that shows differently from how it sorts and searches, or looks like another
    patient's, is refused with a Swedish reason: on registration and on correction."""
    form = RegisterForm({"identifier": EXISTING, "first_name": name, "last_name": "Apel"})
    assert not form.is_valid()
    assert "osynliga tecken" in str(form.errors["first_name"])
    correct = CorrectForm(
        {"first_name": "Aina", "last_name": name, "reason": "Stavfel"},
        fields_allowed=frozenset({"first_name", "last_name"}),
    )
    assert not correct.is_valid()
    assert "osynliga tecken" in str(correct.errors["last_name"])


@pytest.mark.django_db
def test_r71_a_registered_name_is_free_of_bidi_and_zero_width(
    client: Client, alice: Persona
) -> None:
    signed_in(client, alice)
    # Registration follows the lookup that showed the number new (issue 12 finding 3).
    client.post(reverse("patients:search"), {"identifier": EXISTING})
    client.post(
        reverse("patients:outside"),
        {"reason_code": "new_contact", "reason_text": "Ny hemsjukvårdspatient"},
    )
    response = client.post(
        reverse("patients:register"),
        {"identifier": EXISTING, "first_name": f"Aina{RLO}", "last_name": f"Ap{ZWSP}el"},
    )
    assert response.status_code == 400
    assert not Patient.objects.exists()
    response = client.post(
        reverse("patients:register"),
        {"identifier": EXISTING, "first_name": "Åsa-Märta", "last_name": "Ölund Ek"},
    )
    assert response.status_code == 302
    assert Patient.objects.get().first_name == "Åsa-Märta"


@pytest.mark.parametrize("bad", ["\x1b[31m", "\x07", "\x7f", "a\x85b", "a\nb", "a\tb"])
def test_r71_single_line_text_refuses_control_characters(bad: str) -> None:
    form = RegisterForm({"identifier": EXISTING, "first_name": "A", "last_name": "B", "city": bad})
    assert not form.is_valid()
    assert "styrtecken" in str(form.errors["city"])


def test_r71_notes_keep_their_line_breaks_but_no_other_control_characters() -> None:
    from lyfta.patients.forms import NeedForm

    assert NeedForm({"reason_code": "other", "reason_text": "Rad ett\r\n\tRad två"}).is_valid()
    form = NeedForm({"reason_code": "other", "reason_text": "Rad ett\x1b[2J"})
    assert "styrtecken" in str(form.errors["reason_text"])


def lyfta_forms() -> list[type[forms.BaseForm]]:
    for module in pkgutil.walk_packages(lyfta.__path__, "lyfta."):
        if ".tests" not in module.name and ".migrations" not in module.name:
            importlib.import_module(module.name)
    found: list[type[forms.BaseForm]] = []
    pending: list[type[forms.BaseForm]] = [forms.BaseForm]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("lyfta.") and ".tests" not in cls.__module__:
            found.append(cls)
    return found


def test_r71_every_lyfta_form_takes_its_text_through_the_edge_checks() -> None:
    """One mechanism, not a patch per form: every form class of Lyfta derives from
    lyfta.core.forms, and so does the admin's."""
    from lyfta.access.admin import CapabilityAdmin

    classes = [cls for cls in lyfta_forms() if inspect.getmodule(cls) is not None]
    assert len(classes) > 40
    outside = [f"{c.__module__}.{c.__name__}" for c in classes if not issubclass(c, EdgeMixin)]
    assert not outside, f"forms without the edge checks: {outside}"
    assert issubclass(CapabilityAdmin.form, EdgeMixin)


# --- Finding 7: server errors -------------------------------------------------------------------


@pytest.mark.django_db
def test_nul_in_the_user_admin_search_is_a_400(client: Client, ulla: Persona) -> None:
    """On PostgreSQL a NUL in `q` reached the query: 500."""
    signed_in(client, ulla)
    response = client.get(reverse("accounts:admin_users"), {"q": "ad\x00min"})
    assert response.status_code == 400
    assert "otillåtet tecken" in response.content.decode()
    assert client.get(reverse("accounts:admin_users"), {"q": "Ask"}).status_code == 200


@pytest.mark.django_db
def test_nul_or_junk_in_an_item_number_in_the_url_is_no_server_error(
    client: Client, logan: Persona
) -> None:
    signed_in(client, logan)
    assert client.get("/lager/individ/00%0001/").status_code == 400
    # Not an individual number at all: the item card's URL does not take it (so no query sees
    # it), the same 404 as a number that does not exist.
    for junk in ("00\x0001", "０１", "a" * 21, "00 01", "Å"):
        with pytest.raises(Resolver404):
            resolve(f"/lager/individ/{junk}/")
        assert client.get(f"/lager/individ/{quote(junk)}/").status_code in (400, 404)
    assert resolve("/lager/individ/T-0001/").kwargs == {"individual_number": "T-0001"}


@pytest.mark.django_db
def test_nul_in_the_admin_autocomplete_is_a_400(client: Client, sigge: Persona) -> None:
    signed_in(client, sigge)
    query = {"app_label": "organisations", "model_name": "unit", "field_name": "provider"}
    response = client.get(reverse("admin:autocomplete"), {**query, "term": "Test\x00"})
    assert response.status_code == 400
    response = client.get(reverse("admin:autocomplete"), {**query, "term": "Test"})
    assert response.status_code == 200
    # A term of 100 kB: SQLite refused the LIKE pattern (a 503 there).
    response = client.get(reverse("admin:autocomplete"), {**query, "term": "Å" * 100_000})
    assert response.status_code == 200


@pytest.mark.django_db
def test_nul_in_a_posted_field_a_cookie_or_a_header_is_a_400(
    client: Client, alice: Persona
) -> None:
    signed_in(client, alice)
    url = reverse("patients:search")
    assert client.post(url, {"identifier": "1940\x000314"}).status_code == 400
    assert client.get(url, HTTP_USER_AGENT="Mozilla\x00").status_code == 400
    client.cookies["lyfta_extra"] = "a\x00b"
    assert client.get(url).status_code == 400
    del client.cookies["lyfta_extra"]
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_a_non_integer_item_id_on_a_review_check_is_no_server_error(
    client: Client, lena: Persona, county: County
) -> None:
    """`item=abc` posted to a review check was a 500 (finding 7)."""
    check = ReviewCheck.objects.create(
        provider=county.municipality,
        unit=county.unit_a,
        kind=ReviewCheck.Kind.SAMPLE,
        period_from=TODAY,
        period_until=TODAY,
        reviewer=lena.user,
        created_at=timezone.now(),
    )
    signed_in(client, lena)
    client.raise_request_exception = False
    url = reverse("review:check", kwargs={"check_id": check.pk})
    for item in ("abc", "-1", "99999999999999999999", "１２"):
        assert client.post(url, {"item": item, "verdict": "justified"}).status_code == 400


@pytest.mark.django_db
def test_a_next_that_is_no_path_goes_to_the_start_page(client: Client, alice: Persona) -> None:
    """`next=abc` after choosing an assignment was taken for the name of a view: 500."""
    signed_in(client, alice)
    client.raise_request_exception = False
    url = reverse("accounts:choose_assignment")
    for target in ("abc", "-1", "2026-13-45", "１２"):
        response = client.post(url, {"assignment": alice.assignment.pk, "next": target})
        assert (response.status_code, response["Location"]) == (302, "/")
    response = client.post(url, {"assignment": alice.assignment.pk, "next": "/patienter/"})
    assert response["Location"] == "/patienter/"


def test_r14_a_password_takes_any_unicode_but_nul() -> None:
    """The edge checks leave passwords alone (R14: any Unicode); a sign-in attempt with control
    characters in its username is still an attempt, recorded (R22) and answered as any other
    (R21): lyfta/audit/tests/test_record.py proves that."""
    from lyfta.accounts.forms import LoginForm, PasswordSetForm

    odd = "lösen\x07ord\u202e med \u2066 och \u200b"
    assert PasswordSetForm({"new": odd, "repeat": odd}).is_valid()
    assert not PasswordSetForm({"new": "a\x00b", "repeat": "a\x00b"}).is_valid()
    assert LoginForm({"username": "mallory\n2026", "password": odd}).is_valid()


@pytest.mark.django_db
def test_r71_the_note_on_an_emergency_review_refuses_control_characters(
    client: Client, alice: Persona, lena: Persona
) -> None:
    """The emergency review reads its note without a form: it checks it itself (a NUL there was
    a 500 on PostgreSQL, finding 7; the middleware answers that one)."""
    from lyfta.accounts.tests.factories import TEST_PASSWORD
    from lyfta.patients.models import EmergencyAccess

    patient = Patient.objects.create(
        identifier=EXISTING, id_kind="personnummer", first_name="Sten", last_name="Främling"
    )
    patient_services.emergency_open(
        actor=alice.actor,
        patient=patient,
        reason_code="acute_care",
        reason_text="Medvetslös patient i hemmet",
        patient_cannot_consent=True,
        password=TEST_PASSWORD,
    )
    emergency = EmergencyAccess.objects.get()
    signed_in(client, lena)
    url = reverse("patients:emergency_queue")
    data = {"emergency": emergency.pk, "verdict": "justified"}
    assert client.post(url, {**data, "note": "Ok\x00"}).status_code == 400
    response = client.post(url, {**data, "note": "Ok\x1b[2J"}, follow=True)
    assert "styrtecken" in response.content.decode()
    emergency.refresh_from_db()
    assert emergency.verdict == ""
    client.post(url, {**data, "note": "Ok.\nBefogad."})
    emergency.refresh_from_db()
    assert (emergency.verdict, emergency.verdict_note) == ("justified", "Ok.\nBefogad.")


@pytest.mark.django_db
@pytest.mark.parametrize("period", [("0001-01-01", "0001-01-05"), ("9999-12-25", "9999-12-31")])
def test_extreme_dates_in_the_log_search_are_a_message_not_a_500(
    client: Client, lena: Persona, period: tuple[str, str]
) -> None:
    """Found by the second attack pass: year 1 or 9999 in a log period overflowed date arithmetic
    (500). Every date field now takes 1900–2199 only, with a Swedish message."""
    signed_in(client, lena)
    client.raise_request_exception = False
    response = client.get(
        reverse("review:search"), {"period_from": period[0], "period_until": period[1]}
    )
    assert response.status_code < 500
    assert "Ange ett datum mellan 1900-01-01 och 2199-12-31." in response.content.decode()


@pytest.mark.parametrize(
    "invisible",
    [
        "\u200b",
        " \u200b\u200d ",
        "\u202e",
        "\ufeff\u2060",
        "\u2061\u2062",
        "\u3164\u00ad",
        "\u2800",
        "\U000e0041\ufe0f",
        "\u115f\u1160\uffa0\u180e\u034f",
    ],
)
def test_a_text_of_only_invisible_characters_says_nothing_and_is_refused(invisible: str) -> None:
    """Found by the attack on the demo: a required reason of one zero-width space (which
    Python's strip() keeps) placed an order over the ISO-class limit and recorded a failed
    delivery; a receiver's name took a right-to-left override."""
    from lyfta.orders.logistics_forms import FailedDeliveryForm, ReceiptForm

    failed = FailedDeliveryForm({"reason": invisible, "new_day": "2030-01-07", "fee": "1"})
    assert not failed.is_valid()
    assert "Skriv med synliga tecken." in failed.errors["reason"]
    receipt = ReceiptForm(
        {"receiver_name": f"A{invisible}B", "relation": "patient", "unsigned": "on"}
        | {"unsigned_reason": invisible}
    )
    assert not receipt.is_valid()
    assert "receiver_name" in receipt.errors and "unsigned_reason" in receipt.errors
    fine = ReceiptForm(
        {"receiver_name": "Åsa Öberg", "relation": "patient", "unsigned": "on"}
        | {"unsigned_reason": "Kunde inte hålla pennan"}
    )
    assert fine.is_valid(), fine.errors


@pytest.mark.parametrize("typed", ["２０２６-12-08", "12/08/2026", "12/08/26", "٢٠٢٦-12-08"])
def test_a_date_is_taken_as_yyyy_mm_dd_in_digits_0_to_9_only(typed: str) -> None:
    """Found by the attack on the demo: a new delivery day took fullwidth digits, and
    "12/08/2026" (Django's Swedish formats) was read as 8 December."""
    from lyfta.orders.logistics_forms import FailedDeliveryForm

    form = FailedDeliveryForm({"reason": "Ingen hemma", "new_day": typed, "fee": "1"})
    assert not form.is_valid()
    assert "new_day" in form.errors
    iso = FailedDeliveryForm({"reason": "Ingen hemma", "new_day": "2030-01-07", "fee": "1"})
    assert iso.is_valid(), iso.errors
    assert iso.cleaned_data["new_day"] == dt.date(2030, 1, 7)


def test_a_photo_that_unpacks_to_a_huge_image_is_refused_before_decoding() -> None:
    """Found by the re-test of the demo: a 420 KB PNG of 12000 × 12000 zeros took 1.7 GB."""
    import io

    from PIL import Image

    from lyfta.core.uploads import MAX_PIXELS, UnreadableImage, without_metadata

    buffer = io.BytesIO()
    Image.new("L", (8000, 7000)).save(buffer, "PNG")  # 56 million pixels, a small file
    assert MAX_PIXELS < 8000 * 7000 and len(buffer.getvalue()) < 200_000
    with pytest.raises(UnreadableImage):
        without_metadata(buffer.getvalue(), "image/png")
