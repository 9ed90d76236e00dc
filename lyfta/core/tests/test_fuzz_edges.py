"""Input at the edge (issue 12, build point 5): hostile input never gives a server error.

As a signed-in user of every role (the access table's personas and one of each role it has
none of), every route of the access table is called with its parameters, and those that views
read without a form, set to NUL bytes, fullwidth and Arabic-Indic digits, 100 kB strings, bad
integers ("abc", "-1", "99999999999999999999") and bad dates ("2026-13-45", "0000-00-00"); the
same payloads go into the path, and into every form the pages show. The admin's lists, forms and
autocomplete are called the same way. Every answer must be below 500.

Sampling keeps it under a minute: each route entry has one lead (in turn among the personas
the table lets through) who puts payloads in its parameters and path, and posts every form on
its page with half the payloads in every field and each field bad on its own; the other
personas the table lets through, and one role outside the table, call it once with one payload.
A persona the table denies is not asked (the table test proves the 403). Run it on SQLite and
on PostgreSQL (DATABASE_URL=postgres://…): a NUL byte was a server error only on the latter."""

from __future__ import annotations

import itertools
import logging
import re
import sys
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from django.conf import settings
from django.core.signals import got_request_exception
from django.test import Client
from django.urls import NoReverseMatch, reverse

from conftest import County, Persona, make_persona, signed_in
from lyfta.access.admin import admin_site
from lyfta.access.roles import Role
from lyfta.core.tests import test_access_table as table
from lyfta.core.tests.test_access_table import DENIED, LOGIN, OK, PERSONAS, ROUTES, Route, World

world = table.world  # the access table's scenario, as a fixture of this module too

PAYLOADS: dict[str, str] = {
    "nul": "12\x0034",
    "fullwidth": "１９４００３１４９８０６",
    "arabic_indic": "١٩٤٠٠٣١٤٩٨٠٦",
    "long_digits": "9" * 100_000,
    "long_text": "Å" * 100_000,
    "abc": "abc",
    "negative": "-1",
    "huge_int": "99999999999999999999",
    "bad_date": "2026-13-45",
    "zero_date": "0000-00-00",
}
NAMES = list(PAYLOADS)
# Payloads that fit in a path segment of the URL.
PATH_PAYLOADS = ("nul", "fullwidth", "abc", "huge_int", "long_text")
# The roles that no persona of the access table holds.
EXTRA_ROLES = {
    "katja": Role.CATALOGUE_MANAGER,
    "olof": Role.ORDERER,
    "ebba": Role.UNIT_MANAGER,
    "konrad": Role.CONSULTANT,
    "kim": Role.CUSTOMER_SERVICE,
    "sara": Role.QUALITY,
}
FUZZ_PERSONAS = [*PERSONAS, *EXTRA_ROLES]
# Forms that end the persona's session are not posted; the language form on every page is
# posted by the signed-out only.
SIGN_OUT = ("/konto/logga-ut/",)
SHARED_FORMS = ("/i18n/setlang/",)
# Parameters that views read from the request directly, without a form (a test below finds them
# in the source): each call puts the payload in all of them.
RAW_PARAMS = (
    "accept",
    "action",
    "assignment",
    "basis",
    "bredd",
    "close",
    "dagar",
    "delivered_at",
    "emergency",
    "fran",
    "frequency",
    "from",
    "in_assortment",
    "item",
    "kind",
    "next",
    "note",
    "patient",
    "personnummer",
    "plats",
    "q",
    "sida",
    "status",
    "steg",
    "till",
    "under",
    "verdict",
)
# Who calls the admin's pages beyond its index.
ADMIN = "sigge"


@dataclass
class HtmlForm:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # name, default value
    fuzzable: list[str] = field(default_factory=list)  # names a person types or picks


class FormParser(HTMLParser):
    """The forms of a page: their action, method and fields with the values they would send."""

    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[HtmlForm] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._first_option: str | None = None
        self._selected = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            action = a.get("action") or self.page_url
            self.forms.append(HtmlForm(action=action, method=(a.get("method") or "get").lower()))
            return
        if not self.forms or "name" not in a:
            if tag == "option" and self._select is not None:
                self._option(a)
            return
        form, name = self.forms[-1], a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            form.fields.append((name, a.get("value", "")))
            if name != "csrfmiddlewaretoken":
                form.fuzzable.append(name)
        elif tag == "button" and a.get("type", "submit") == "submit":
            form.fields.append((name, a.get("value", "")))
        elif tag == "textarea":
            self._textarea = name
            form.fields.append((name, ""))
            form.fuzzable.append(name)
        elif tag == "select":
            self._select, self._first_option, self._selected = name, None, False
            form.fuzzable.append(name)

    def _option(self, a: dict[str, str]) -> None:
        if self._first_option is None:
            self._first_option = a.get("value", "")
        if "selected" in a and not self._selected:
            self._selected = True
            self.forms[-1].fields.append((self._select or "", a.get("value", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None and self.forms:
            if not self._selected and self._first_option is not None:
                self.forms[-1].fields.append((self._select, self._first_option))
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None and self.forms:
            form = self.forms[-1]
            form.fields = [(n, data if n == self._textarea else v) for n, v in form.fields]


def page_forms(url: str, html: str) -> list[HtmlForm]:
    parser = FormParser(url)
    parser.feed(html)
    for form in parser.forms:
        form.action = urlsplit(form.action).path or url.split("?")[0]
    return parser.forms


@dataclass
class Fuzzer:
    client: Client
    persona: Persona | None
    calls: Counter[str] = field(default_factory=Counter)  # requests by what they test
    errors: list[str] = field(default_factory=list)
    seen_forms: set[tuple[str, str, tuple[str, ...]]] = field(default_factory=set)
    exceptions: list[str] = field(default_factory=list)

    def sign_in(self) -> None:
        if self.persona is not None:
            signed_in(self.client, self.persona)

    def call(
        self, kind: str, method: str, url: str, data: dict[str, Any] | list[tuple[str, str]]
    ) -> Any:
        self.calls[kind] += 1
        if method == "get":
            query = urlencode(data, doseq=True) if data else ""
            response = self.client.get(url + ("?" + query if query else ""))
        else:
            pairs = data.items() if isinstance(data, dict) else data
            body = urlencode(list(pairs), doseq=True)
            response = self.client.post(url, body, content_type="application/x-www-form-urlencoded")
        if response.status_code >= 500:
            shown = repr(data)[:200]
            cause = self.exceptions[-1] if self.exceptions else ""
            self.errors.append(
                f"{response.status_code} {method.upper()} {url[:200]} {shown}: {cause}"
            )
            self.exceptions.clear()
        if response.status_code == 302 and response["Location"].startswith(
            reverse("accounts:login")
        ):
            self.sign_in()
        return response

    def fuzz_form(self, form: HtmlForm, turn: int) -> None:
        """Half the payloads (in turn: each form gets the other half of the one before) in every
        field at once, at most a few fields for the long ones (together they would pass the
        request size limit); then each field bad in turn among the form's own values."""
        key = (form.method, form.action, tuple(sorted(form.fuzzable)))
        if key in self.seen_forms or form.action in SIGN_OUT:
            return
        if form.action in SHARED_FORMS and self.persona is not None:
            return
        self.seen_forms.add(key)
        names = form.fuzzable or ["q"]
        for k in range(len(NAMES) // 2):
            payload_name = NAMES[(turn + 2 * k) % len(NAMES)]
            bad = names[:4] if payload_name.startswith("long") else names
            self.call(
                "form", form.method, form.action, with_values(form, bad, PAYLOADS[payload_name])
            )
        for i, one in enumerate(names):
            value = PAYLOADS[NAMES[(turn + i) % len(NAMES)]]
            self.call("field", form.method, form.action, with_values(form, [one], value))


def with_values(form: HtmlForm, names: list[str], value: str) -> list[tuple[str, str]]:
    data = [(n, value if n in names else v) for n, v in form.fields]
    return data + [(n, value) for n in names if n not in dict(form.fields)]


def sentinel_url(name: str, kwargs: dict[str, Any], key: str, payload: str) -> str | None:
    """The route's URL with one path argument replaced by `payload`, or None where the URL
    pattern cannot hold it (an int converter takes ASCII digits only)."""
    marker: Any = 987654321 if isinstance(kwargs[key], int) else "ZzMarkerZz"
    if isinstance(marker, int) and not (payload.isascii() and payload.isdigit()):
        return None
    try:
        url = reverse(name, kwargs={**kwargs, key: marker})
    except NoReverseMatch:
        return None
    return url.replace(str(marker), quote(payload, safe=""))


def reaches(route: Route, persona: str) -> bool:
    """Whether the access table lets `persona` past the route's gate."""
    return route.expect.get(persona, route.default) not in (DENIED, LOGIN)


@dataclass(frozen=True)
class Step:
    name: str
    index: int
    full: bool  # every payload in every field; otherwise one probe


def plan() -> dict[str, list[Step]]:
    """Who calls what. Each route entry has one lead, in turn among the personas the table lets
    through (the signed-out for the sign-in page). The other personas it lets through call it
    once, and so does one of the roles outside the table, in turn. Where the table lets nobody
    through, each role outside it leads (those it refuses stop at the 403)."""
    steps: dict[str, list[Step]] = {p: [] for p in FUZZ_PERSONAS}
    turn = itertools.count()
    extra = itertools.cycle(EXTRA_ROLES)
    for name, routes in ROUTES.items():
        for index, route in enumerate(routes):
            reachers = [p for p in PERSONAS if reaches(route, p)]
            prober = next(extra)
            if not reachers:
                # Each of the other roles tries; those it lets through get every payload.
                for persona in EXTRA_ROLES:
                    steps[persona].append(Step(name, index, True))
                continue
            lead = reachers[next(turn) % len(reachers)]
            if route.expect.get("anonymous") == OK:
                lead = "anonymous"  # the sign-in page: its form is for the signed-out
            steps[lead].append(Step(name, index, True))
            for persona in {*reachers, prober} - {lead}:
                steps[persona].append(Step(name, index, False))
    return steps


PLAN = plan()


@pytest.fixture
def extra_people(county: County) -> dict[str, Persona]:
    units = {
        Role.CATALOGUE_MANAGER: county.centre,
        Role.CUSTOMER_SERVICE: county.centre,
        Role.QUALITY: county.centre,
    }
    return {
        username: make_persona(units.get(role, county.unit_a), role, username)
        for username, role in EXTRA_ROLES.items()
    }


@pytest.mark.django_db
@pytest.mark.parametrize("persona", FUZZ_PERSONAS)
def test_no_server_error_on_hostile_input(
    client: Client, world: World, extra_people: dict[str, Persona], persona: str
) -> None:
    people = {**world.people, **extra_people}
    client.raise_request_exception = False
    fuzzer = Fuzzer(client, people.get(persona))
    fuzzer.sign_in()
    started = time.monotonic()
    with watching(fuzzer):
        run(fuzzer, world, persona)
    print(f"{persona}: {dict(fuzzer.calls)} requests in {time.monotonic() - started:.1f} s")
    assert not fuzzer.errors, "\n".join(fuzzer.errors[:40])


def test_every_parameter_a_view_reads_directly_is_fuzzed() -> None:
    read = re.compile(
        r"""request\.(?:GET|POST)\.get\(\s*["'](\w+)["']|["'](\w+)["'] in request\.(?:GET|POST)"""
    )
    found: set[str] = set()
    for path in (Path(settings.BASE_DIR) / "lyfta").rglob("*.py"):
        if "tests" not in path.parts:
            found |= {a or b for a, b in read.findall(path.read_text(encoding="utf-8"))}
    assert found, "the pattern finds nothing: has the code's style changed?"
    assert found <= set(RAW_PARAMS), sorted(found - set(RAW_PARAMS))


def test_every_route_is_fuzzed_by_someone() -> None:
    fuzzed = {(s.name, s.index) for steps in PLAN.values() for s in steps if s.full}
    assert fuzzed == {(n, i) for n, routes in ROUTES.items() for i in range(len(routes))}
    assert all(PLAN[p] for p in FUZZ_PERSONAS if p != "anonymous")


@contextmanager
def watching(fuzzer: Fuzzer) -> Iterator[None]:
    """Keep each server error's exception for the report; keep the log quiet (the 400s of this
    test are expected)."""

    def on_exception(sender: Any, request: Any = None, **kwargs: Any) -> None:
        error, trace = sys.exc_info()[1], traceback.extract_tb(sys.exc_info()[2])
        where = next(
            (f"{f.filename}:{f.lineno}" for f in reversed(trace) if "/lyfta/" in f.filename), ""
        )
        fuzzer.exceptions.append(f"{type(error).__name__}: {str(error)[:160]} at {where}")

    got_request_exception.connect(on_exception)
    loggers = [logging.getLogger(n) for n in ("django.request", "django.security", "axes")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        got_request_exception.disconnect(on_exception)


@dataclass(frozen=True)
class Target:
    """A URL to call: `fixed` parameters keep their values, `fuzzed` ones take the payloads."""

    method: str
    url: str
    fuzzed: tuple[str, ...]
    fixed: dict[str, str] = field(default_factory=dict)
    name: str = ""  # the URL name and arguments, to put payloads in the path too
    kwargs: dict[str, Any] = field(default_factory=dict)


def admin_targets(w: World) -> list[Target]:
    """The admin beyond its index (one entry in the access table): each model's list with its
    search and filters, its add and change pages, and the autocomplete of each foreign key."""
    targets: list[Target] = []
    objects = {
        "careprovider": w.county.region.pk,
        "unit": w.county.unit_a.pk,
    }
    for model, model_admin in admin_site._registry.items():
        label = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        filters = [f"{f}__exact" for f in model_admin.list_filter if isinstance(f, str)]
        query = ("q", "o", "p", "e", *filters, "provider__id__exact")
        targets.append(Target("get", reverse(f"{label}_changelist"), query))
        targets.append(Target("get", reverse(f"{label}_add"), ()))
        pk = objects.get(model._meta.model_name or "")
        if pk is not None:
            kwargs = {"object_id": str(pk)}
            url = reverse(f"{label}_change", kwargs=kwargs)
            targets.append(Target("get", url, (), name=f"{label}_change", kwargs=kwargs))
        for relation in model._meta.fields:
            if relation.is_relation:
                fixed = {
                    "app_label": model._meta.app_label,
                    "model_name": model._meta.model_name or "",
                    "field_name": relation.name,
                }
                url = reverse("admin:autocomplete")
                targets.append(Target("get", url, ("term", "page"), fixed))
    return targets


def fuzz_target(fuzzer: Fuzzer, target: Target, cycle: Iterator[str], *, full: bool) -> None:
    payloads = [next(cycle) for _ in range(2 if full else 1)]
    # The URL as the table calls it, its parameters (and those views read directly) bad.
    for payload_name in payloads:
        names = target.fuzzed[:4] if payload_name.startswith("long") else target.fuzzed
        data = {**target.fixed, **dict.fromkeys(names, PAYLOADS[payload_name])}
        response = fuzzer.call("route", target.method, target.url, data)
    if not full or response.status_code == 403:
        return
    for key in target.kwargs:
        for payload_name in PATH_PAYLOADS:
            bad = sentinel_url(target.name, target.kwargs, key, PAYLOADS[payload_name])
            if bad is not None:
                fuzzer.call("path", target.method, bad, target.fixed)
    if target.method != "get":
        return
    # The same parameters posted: a page that also takes a POST reads them there.
    value = PAYLOADS[payloads[0]]
    fuzzer.call("route", "post", target.url, {**target.fixed, **dict.fromkeys(RAW_PARAMS, value)})
    page = fuzzer.call("page", "get", target.url, target.fixed)
    if page.status_code == 200 and "html" in page.get("Content-Type", ""):
        for form in page_forms(target.url, page.content.decode()):
            fuzzer.fuzz_form(form, NAMES.index(next(cycle)))


def run(fuzzer: Fuzzer, w: World, persona: str) -> None:
    start = FUZZ_PERSONAS.index(persona) % len(NAMES)
    cycle = itertools.cycle(NAMES[start:] + NAMES[:start])
    for step in PLAN[persona]:
        route = ROUTES[step.name][step.index]
        kwargs = route.kwargs(w)
        url = reverse(step.name, kwargs=kwargs)
        fuzzed = (*route.data, *RAW_PARAMS)
        target = Target(route.method, url, fuzzed, name=step.name, kwargs=kwargs)
        fuzz_target(fuzzer, target, cycle, full=step.full)
    if persona == ADMIN:
        for target in admin_targets(w):
            fuzz_target(fuzzer, target, cycle, full=True)
