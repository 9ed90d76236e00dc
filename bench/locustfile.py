"""The load of `make load` and `make drills` (issue 20 point 4): one Locust user class per role,
each with the mix of pages and forms that role uses in a day.

    prescriber      patient search by personnummer and by name, the holdings page, an order (the
                    order page, an article search, cart add, place, the order's page), a pick-up
                    order (its form, then registered)
    logistics       the pick list, the pick-ups to collect, the returns to receive
    log reviewer    the log review's start, a patient's log over a month and a year
    statistics      the statistics index and the figures most opened, some split by a grouping

The people are signed in beforehand: `bench/drills.py` makes each one's session in the drill
database as a sign-in makes it (MFA off, as the drills run it; the log reviewer's second factor
counted as verified) and writes them, with the patients each prescriber has a care relationship
with, to the JSON file in LYFTA_LOAD_USERS (and deletes it after the run). Each Locust user takes
a session of its own: two users never share a cart. When the run stops, the final figures go to
the file in LYFTA_LOAD_FIGURES.

Every request is named by its route (`NAMES`): no patient id, personnummer or name reaches a
report. `bench/drills.py load` runs it as

    locust -f bench/locustfile.py --headless -u 12 -r 12 -t 20s --host http://127.0.0.1:8765 ...
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import re
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from locust import HttpUser, between, events, task

USERS_FILE = os.environ.get("LYFTA_LOAD_USERS", "var/load/people.json")
# Where the run's final figures go when it stops (Locust's CSV files are sampled each second and
# may miss the last one).
FIGURES_FILE = os.environ.get("LYFTA_LOAD_FIGURES", "")
# How often a prescriber orders, against 12 for the rest of the day's tasks: the fault drills
# raise it so that orders are in flight when the fault strikes.
ORDER_WEIGHT = int(os.environ.get("LYFTA_LOAD_ORDER_WEIGHT", "2"))
STOCKHOLM = ZoneInfo("Europe/Stockholm")

# Every request's name in the reports. A request under any other name is refused (see `_send`).
NAMES = frozenset(
    {
        "patient search by personnummer",
        "patient search by name",
        "holdings page",
        "order page",
        "order article search",
        "order cart add",
        "order create",
        "order confirmation page",
        "pick-up form",
        "pick-up register",
        "pick list",
        "pick-ups to collect",
        "returns to receive",
        "log review start",
        "log search, a month",
        "log search, a year",
        "statistics index",
        "statistics: devices on loan",
        "statistics: devices on loan by unit",
        "statistics: devices on loan by article",
        "statistics: newly prescribed",
        "statistics: deliveries",
        "statistics: pick-ups",
        "statistics: reuse",
    }
)

# The words a prescriber types into the order page's article search.
ARTICLE_WORDS = ("rollator", "sittdyna", "lyftsele", "rullstol", "säng", "toalettstol")
# The order form's fields when the cart holds a line: delivery to the patient's address, and the
# reason the page asks for when the patient already holds the class (else 400).
PLACE = {"delivery": "patient", "over_limit_reason": "Byte"}
# Where each form leads when it succeeds (a redirect elsewhere, as to the sign-in page, fails).
ORDER_PAGE = re.compile(r"^/innehav/\d+/bestall/$")
ORDER_PLACED = re.compile(r"^/ordrar/\d+/$")
HOLDINGS = re.compile(r"^/innehav/\d+/$")
LOAN_CHOICE = re.compile(r'name="loans" value="(\d+)"')

_loaded: dict[str, Any] | None = None


def route(path: str) -> str:
    """A path without its query and with every number as N: fit for a report."""
    return re.sub(r"\d+", "N", path.split("?", 1)[0])


def people() -> dict[str, Any]:
    """The sessions and patients `bench/drills.py` wrote, read once per process."""
    global _loaded
    if _loaded is None:
        with open(USERS_FILE, encoding="utf-8") as file:
            _loaded = json.load(file)
    return _loaded


@events.test_stop.add_listener
def write_figures(environment: Any, **_: Any) -> None:
    """Each request name's and the whole run's figures, once every user has stopped."""
    if not FIGURES_FILE:
        return
    stats = environment.stats

    def figures(entry: Any) -> dict[str, Any]:
        return {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "error_rate": round(entry.fail_ratio, 5),
            "rps": round(entry.total_rps, 2),
            "p50_ms": entry.get_response_time_percentile(0.5),
            "p95_ms": entry.get_response_time_percentile(0.95),
            "p99_ms": entry.get_response_time_percentile(0.99),
        }

    found = {
        "requests": {
            entry.name: {"method": entry.method, **figures(entry)}
            for entry in sorted(stats.entries.values(), key=lambda entry: entry.name)
        },
        "overall": figures(stats.total),
        "failures": [
            {"name": error.name, "error": str(error.error), "count": error.occurrences}
            for error in stats.errors.values()
        ],
    }
    with open(FIGURES_FILE, "w", encoding="utf-8") as file:
        json.dump(found, file, indent=2)


class SignedIn(HttpUser):
    """A person signed in once, before the first task: the session's cookie and a CSRF cookie
    whose (unmasked, 32-character) secret every form sends back, as a browser's form would."""

    abstract = True
    role: ClassVar[str] = ""
    # A short think time: a few users stand for many, and keep the two workers busy.
    wait_time = between(0.1, 0.5)
    _next: ClassVar[itertools.count[int]]

    def on_start(self) -> None:
        sessions = people()[self.role]
        self.me: dict[str, Any] = sessions[next(type(self)._next) % len(sessions)]
        self.rng = random.Random()  # noqa: S311 - picks pages, not secrets
        self.csrf = f"{self.rng.getrandbits(128):032x}"
        self.client.cookies.set("lyfta_session", self.me["cookie"])
        self.client.cookies.set("csrftoken", self.csrf)

    def _send(
        self,
        method: str,
        path: str,
        name: str,
        *,
        expect: int,
        to: re.Pattern[str] | None = None,
        form: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """One request, counted under `name`; a failure unless it answers `expect`, and for a
        redirect unless it leads `to` where success leads (a redirect is never followed: a sign-in
        page after one would pass for the page)."""
        if name not in NAMES:
            raise ValueError(f"unnamed request {name!r}: add it to NAMES")
        data = {**form, "csrfmiddlewaretoken": self.csrf} if form is not None else None
        with self.client.request(
            method,
            path,
            name=name,
            data=data,
            params=params,
            headers=headers,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            location = response.headers.get("Location", "")
            if response.status_code == 0:  # no answer: the connection failed or was cut
                response.failure(f"no answer ({type(response.error).__name__})")
            elif response.status_code != expect:
                response.failure(f"{response.status_code} (expected {expect})")
            elif to is not None and not to.search(location):
                response.failure(f"{response.status_code} to {route(location)}, not {to.pattern}")
            else:
                response.success()
            return response

    def page(self, path: str, name: str, **params: Any) -> Any:
        return self._send("GET", path, name, expect=200, params=params or None)

    def form(self, path: str, name: str, form: dict[str, Any], *, to: re.Pattern[str]) -> Any:
        return self._send("POST", path, name, expect=302, to=to, form=form)


class Prescriber(SignedIn):
    """A prescriber of the busiest unit: finds a patient, reads the holdings, now and then orders
    or asks for a device to be collected. Only patients of the unit's care relationships."""

    role = "prescribers"
    weight = 6
    _next = itertools.count()

    def patient(self) -> dict[str, Any]:
        patient: dict[str, Any] = self.rng.choice(self.me["patients"])
        return patient

    @task(3)
    def search_by_personnummer(self) -> None:
        self.page("/patienter/", "patient search by personnummer", q=self.patient()["identifier"])

    @task(2)
    def search_by_name(self) -> None:
        self.page("/patienter/", "patient search by name", q=self.patient()["last_name"])

    @task(6)
    def holdings(self) -> None:
        self.page(f"/innehav/{self.patient()['id']}/", "holdings page")

    @task(ORDER_WEIGHT)
    def order(self) -> None:
        base = f"/innehav/{self.patient()['id']}/bestall/"
        self.page(base, "order page")
        self._send(
            "GET",
            f"{base}artiklar/",
            "order article search",
            expect=200,
            params={"q": self.rng.choice(ARTICLE_WORDS)},
            headers={"HX-Request": "true"},
        )
        line = {"article": self.rng.choice(people()["articles"]), "quantity": 1}
        added = self.form(f"{base}rad/", "order cart add", line, to=ORDER_PAGE)
        if added.status_code != 302:
            return
        placed = self.form(base, "order create", PLACE, to=ORDER_PLACED)
        if placed.status_code == 302 and ORDER_PLACED.search(placed.headers["Location"]):
            self.page(placed.headers["Location"], "order confirmation page")

    @task(1)
    def pickup(self) -> None:
        path = f"/innehav/{self.patient()['id']}/hamtning/"
        shown = self.page(path, "pick-up form")
        loans = LOAN_CHOICE.findall(shown.text or "") if shown.status_code == 200 else []
        if loans:
            self.form(path, "pick-up register", {"loans": self.rng.choice(loans)}, to=HOLDINGS)


class Logistics(SignedIn):
    """The aids centre's logistician: the pick list, the pick-ups, the returns."""

    role = "logistics"
    weight = 2
    _next = itertools.count()

    @task(3)
    def picklist(self) -> None:
        self.page("/logistik/", "pick list")

    @task(2)
    def pickups(self) -> None:
        self.page("/logistik/hamtningar/", "pick-ups to collect")

    @task(1)
    def returns(self) -> None:
        self.page("/logistik/returer/", "returns to receive")


class LogReviewer(SignedIn):
    """The provider's log reviewer: who opened a patient's records, over a month or a year."""

    role = "log_reviewers"
    weight = 2
    _next = itertools.count()

    def search(self, days: int, name: str) -> None:
        today = dt.datetime.now(STOCKHOLM).date()
        self.page(
            "/loggranskning/sok/",
            name,
            period_from=(today - dt.timedelta(days=days)).isoformat(),
            period_until=today.isoformat(),
            patient=self.rng.choice(self.me["identifiers"]),
        )

    @task(1)
    def overview(self) -> None:
        self.page("/loggranskning/", "log review start")

    @task(4)
    def month(self) -> None:
        self.search(30, "log search, a month")

    @task(1)
    def year(self) -> None:
        self.search(365, "log search, a year")


class Statistics(SignedIn):
    """The economy desk reading the statistics of every provider."""

    role = "statistics"
    weight = 2
    _next = itertools.count()
    FIGURES: ClassVar[list[tuple[str, dict[str, str], str]]] = [
        ("utlanade", {}, "statistics: devices on loan"),
        ("utlanade", {"grupp": "unit"}, "statistics: devices on loan by unit"),
        ("utlanade", {"grupp": "article"}, "statistics: devices on loan by article"),
        ("nyforskrivna", {}, "statistics: newly prescribed"),
        ("leveranser", {}, "statistics: deliveries"),
        ("hamtningar", {}, "statistics: pick-ups"),
        ("ateranvandning", {}, "statistics: reuse"),
    ]

    @task(1)
    def index(self) -> None:
        self.page("/statistik/", "statistics index")

    @task(4)
    def figure(self) -> None:
        slug, query, name = self.rng.choice(self.FIGURES)
        self.page(f"/statistik/{slug}/", name, **query)
