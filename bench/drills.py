#!/usr/bin/env python
"""Load test and fault drills (issue "Scale and faults", items 5 and 6; the load by Locust, issue
20 point 4). Never run by `make test`.

    bench/drills.py load            two gunicorn workers on PostgreSQL; Locust's users of every
                                    role (bench/locustfile.py) against 127.0.0.1 only
    bench/drills.py kill-worker     the same load; a worker is killed with SIGKILL twice mid-run
    bench/drills.py pg-restart      the same load; PostgreSQL is restarted mid-run
    bench/drills.py backup-restore  pg_dump, restore into a new database, verify_audit and counts

Each runs against a database of its own (BENCH_DATABASE_URL + "_drill", default
postgres://postgres@127.0.0.1:5432/lyfta_bench_drill), made once: migrated, the demo county seeded
and the "small" scale data generated. The load's figures (requests/s, error rate, p50/p95/p99 per
request and overall) go to var/load/<drill>_report.json beside Locust's CSV files. After a drill
the checks are: no order without lines or without its audit event, no order line left
half-reserved, the stock ledger agrees with the books at every location, the audit chain seals and
`verify_audit` passes, and the server answers again without anyone restarting it. Exit status 0
when every check holds and the error rate is within the drill's limit (ERROR_RATE_LIMIT).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/lyfta_bench"
HOST = "127.0.0.1"
PORT = int(os.environ.get("DRILL_PORT", "8765"))
OUT = ROOT / "var" / "load"


def drill_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL) + "_drill"


def server_env(url: str) -> dict[str, str]:
    env = os.environ.copy()
    env.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="lyfta.settings",
        LYFTA_HTTPS="false",
        LYFTA_REQUIRE_MFA="false",
        LYFTA_ALLOWED_HOSTS=f"{HOST},localhost,testserver",
        LYFTA_AUDIT_CHECKPOINT_FILE="",
        LYFTA_AUDIT_SHIP_URL="",
        LYFTA_DEBUG="false",
    )
    return env


def setup(url: str) -> None:
    from bench.run import ensure_database

    ensure_database(url)
    os.environ.update(server_env(url))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    from bench import scale

    if not scale.generate("small").get("skipped"):
        # seed_demo built the statistics' summary tables before the scale data was there (it
        # rebuilds them on every later run): once more, as the nightly refresh would.
        from lyfta.access.actor import Actor
        from lyfta.reports.services.refresh import statistics_refresh

        statistics_refresh(actor=Actor.system("drill"))


def log(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- The server -------------------------------------------------------------------------------


class Server:
    """gunicorn with two sync workers, as `manage.py serve` runs it, on the drill database."""

    def __init__(self, url: str, workers: int = 2) -> None:
        self.url = url
        self.workers = workers
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "gunicorn", "lyfta.wsgi:application",
            "--bind", f"{HOST}:{PORT}", "--workers", str(self.workers),
            "--graceful-timeout", "5", "--timeout", "30", "--log-level", "warning",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, env=server_env(self.url))  # noqa: S603
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if get_status("/healthz") == 200:
                return
            time.sleep(0.2)
        raise SystemExit("gunicorn did not answer within 30 s")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        ).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def get_status(path: str) -> int:
    try:
        conn = http.client.HTTPConnection(HOST, PORT, timeout=5)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return 0


# --- The people -------------------------------------------------------------------------------


class Client:
    """One signed-in prescriber's browser: a session cookie, a CSRF cookie, one connection. The
    page benches time single requests with it, and the drills' after-check asks for a page and an
    order through it; the load itself is Locust's (bench/locustfile.py)."""

    def __init__(self, cookie: str, patients: list[int], articles: list[int]) -> None:
        self.csrf = secrets.token_hex(16)  # 32 characters: Django accepts the unmasked secret
        self.cookie = f"lyfta_session={cookie}; csrftoken={self.csrf}"
        self.patients = patients
        self.articles = articles
        self.conn = http.client.HTTPConnection(HOST, PORT, timeout=30)

    def request(self, method: str, path: str, form: dict[str, Any] | None = None) -> Any:
        headers = {"Cookie": self.cookie, "Host": HOST}
        body = None
        if form is not None:
            body = urlencode({**form, "csrfmiddlewaretoken": self.csrf})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
            raise
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response

    def holdings(self, i: int) -> tuple[bool, str]:
        response = self.request("GET", f"/innehav/{self.patients[i % len(self.patients)]}/")
        return response.status == 200, str(response.status)

    def order(self, i: int) -> tuple[bool, str]:
        patient = self.patients[i % len(self.patients)]
        added = self.request(
            "POST",
            f"/innehav/{patient}/bestall/rad/",
            {"article": self.articles[i % len(self.articles)], "quantity": 1},
        )
        if added.status != 302:
            return False, f"cart {added.status}"
        placed = self.request(
            "POST",
            f"/innehav/{patient}/bestall/",
            # The reason the page asks for when the patient already holds the class (else 400).
            {"delivery": "patient", "over_limit_reason": "Byte (drill)"},
        )
        location = placed.getheader("Location", "")
        if placed.status != 302 or not re.search(r"/ordrar/\d+/", location):
            return False, f"order {placed.status}"
        return True, location


def sign_in_people(count: int) -> dict[str, Any]:
    """The people the locustfile's users act as, `count` sessions of each role (every Locust user
    a session of its own), made as a sign-in makes them (the bench's own helper): prescribers of
    the busiest unit of the "small" data, each with a share of the patients the unit has a care
    relationship with; the centre's logistician; the unit's provider's log reviewer; the economy
    desk for the statistics of every provider."""
    import random

    from django.test import Client as DjangoClient

    from bench import ops
    from lyfta.access.roles import Role
    from lyfta.accounts.models import Assignment
    from lyfta.catalogue.models import Article
    from lyfta.patients.models import Patient

    fx = ops.Fixture(random.Random(11))
    assignments = list(
        Assignment.objects.filter(
            role=fx.prescriber.assignment.role,
            unit=fx.unit,
            user__username__regex=r"^s[0-9]{6}$",
        ).order_by("pk")
    )
    articles = list(
        Article.objects.filter(items__status="in_stock", items__location__kind="central")
        .distinct()
        .values_list("pk", flat=True)[:40]
    )
    patients = [
        {"id": pk, "identifier": identifier, "last_name": last_name}
        for pk, identifier, last_name in Patient.objects.filter(pk__in=fx.patients)
        .order_by("pk")
        .values_list("pk", "identifier", "last_name")
    ]
    economy = ops._person(Role.BILLING, "bench.ekonomi", centre=True)

    def session(assignment: Any) -> str:
        browser = DjangoClient()
        ops._sign_in(browser, assignment)
        return str(browser.cookies["lyfta_session"].value)

    return {
        "articles": articles,
        "prescribers": [
            {
                "cookie": session(assignments[n % len(assignments)]),
                "patients": patients[n::count] or patients,
            }
            for n in range(count)
        ],
        "logistics": [{"cookie": session(fx.logistics.assignment)} for _ in range(count)],
        "log_reviewers": [
            {
                "cookie": session(fx.reviewer.assignment),
                "identifiers": [p["identifier"] for p in patients],
            }
            for _ in range(count)
        ],
        "statistics": [{"cookie": session(economy.assignment)} for _ in range(count)],
    }


def unnumbered(error: str) -> str:
    """An error's text without the path it may quote (a connection error names the URL, with a
    patient's id or number in it)."""
    return re.sub(r"(/[^\s'\"]*)", lambda m: re.sub(r"\d+", "N", m.group(1).split("?")[0]), error)


def run_locust(
    name: str, people: dict[str, Any], users: int, seconds: float, order_weight: int
) -> dict[str, Any]:
    """Locust, headless, against the drill's gunicorn for `seconds` with `users` users (all
    started at once): its CSV files and a report (`var/load/<drill>_report.json`) with each
    request name's and the whole run's requests/s, error rate and p50/p95/p99 (as the run
    stopped; the CSV files are Locust's own, sampled each second). At the end each
    user finishes the task it is in (up to 30 s), so that an order the server registered is
    not left uncounted by a client cut off before its answer."""
    OUT.mkdir(parents=True, exist_ok=True)
    people_file = OUT / f"{name}_people.json"
    people_file.write_text(json.dumps(people), encoding="utf-8")
    prefix = OUT / name
    figures_file = OUT / f"{name}_figures.json"
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"),
        "--headless", "--users", str(users), "--spawn-rate", str(users),
        "--run-time", f"{seconds:.0f}s", "--stop-timeout", "30",
        "--host", f"http://{HOST}:{PORT}", "--csv", str(prefix),
        "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0",
    ]  # fmt: skip
    try:
        run = subprocess.run(
            command,
            cwd=ROOT,
            env={
                **os.environ,
                "LYFTA_LOAD_USERS": str(people_file),
                "LYFTA_LOAD_ORDER_WEIGHT": str(order_weight),
                "LYFTA_LOAD_FIGURES": str(figures_file),
            },
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        people_file.unlink()  # the sessions' keys: worthless after the drill, but keys
    if run.returncode != 0:
        print(run.stdout[-3000:], run.stderr[-3000:], sep="\n")
        raise SystemExit(f"locust exited {run.returncode}")
    found = json.loads(figures_file.read_text(encoding="utf-8"))
    figures_file.unlink()
    report = {
        "drill": name,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": seconds,
        "users": users,
        "order_weight": order_weight,
        "gunicorn_workers": 2,
        # The machine is shared: its load average over the last minute, as the run ended.
        "load_average": round(os.getloadavg()[0], 2),
        "requests": found["requests"],
        "overall": found["overall"],
        "failures": [{**f, "error": unnumbered(f["error"])} for f in found["failures"]],
    }
    (OUT / f"{name}_report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    heading = ("request", "req/s", "count", "errors", "p50", "p95", "p99")
    print("  {:<40} {:>7} {:>6} {:>7} {:>6} {:>6} {:>6}".format(*heading))
    for label, row in [*report["requests"].items(), ("overall", report["overall"])]:
        print(
            f"  {label:<40} {row['rps']:7.1f} {row['requests']:6d} {row['error_rate']:7.2%} "
            f"{row['p50_ms']:6.0f} {row['p95_ms']:6.0f} {row['p99_ms']:6.0f}"
        )
    for failure in report["failures"]:
        print(f"  failed: {failure['name']}: {failure['error']} × {failure['count']}")
    print(f"  (milliseconds; the report and Locust's CSV files: {OUT.relative_to(ROOT)}/{name}_*)")
    return report


# --- The checks after a drill ------------------------------------------------------------------


def checks(since_order_id: int) -> list[str]:
    """What must hold after any drill. Returns the problems found (none: passed)."""
    from django.db import connection

    from lyfta.audit.sealing import audit_seal
    from lyfta.audit.verify import audit_verify

    connection.close()  # a fresh connection: the server may have been restarted
    problems = []

    def one(query: str, params: list[Any] | None = None) -> int:
        with connection.cursor() as cursor:
            cursor.execute(query, params or [])
            return int(cursor.fetchone()[0])

    orphans = one(
        "SELECT COUNT(*) FROM orders_order o WHERE o.id > %s AND NOT EXISTS "
        "(SELECT 1 FROM orders_orderline l WHERE l.order_id = o.id)",
        [since_order_id],
    )
    if orphans:
        problems.append(f"{orphans} orders without lines")
    unaudited = one(
        "SELECT COUNT(*) FROM orders_order o WHERE o.id > %s AND NOT EXISTS "
        "(SELECT 1 FROM audit_auditevent e WHERE e.action = 'order.created' "
        "AND e.resource_type = 'orders.order' AND e.resource_id = o.id::text)",
        [since_order_id],
    )
    if unaudited:
        problems.append(f"{unaudited} orders without their audit event")
    half = one(
        "SELECT COUNT(*) FROM orders_orderline l JOIN inventory_item i ON i.id = l.item_id "
        "WHERE l.status = 'reserved' AND i.status <> 'reserved'"
    )
    if half:
        problems.append(f"{half} reserved order lines whose item is not reserved")
    # The ledger agrees with the books at every location, for every article.
    disagree = one(
        """
        WITH ledger AS (
            SELECT article_id, loc, SUM(q) AS n FROM (
                SELECT article_id, to_location_id AS loc, quantity AS q FROM inventory_stockmovement
                 WHERE to_location_id IS NOT NULL
                UNION ALL
                SELECT article_id, from_location_id, -quantity FROM inventory_stockmovement
                 WHERE from_location_id IS NOT NULL
            ) m GROUP BY article_id, loc
        ), books AS (
            SELECT article_id, location_id AS loc, COUNT(*) AS n FROM inventory_item
             WHERE location_id IS NOT NULL AND status <> 'scrapped' GROUP BY article_id, location_id
            UNION ALL
            SELECT article_id, location_id, quantity FROM inventory_stocklevel
        )
        SELECT COUNT(*) FROM ledger FULL JOIN books
          ON ledger.article_id = books.article_id AND ledger.loc = books.loc
         WHERE COALESCE(ledger.n, 0) <> COALESCE(books.n, 0)
        """
    )
    if disagree:
        problems.append(f"{disagree} (article, location) pairs where ledger and books disagree")
    sealed = audit_seal(batch_size=50_000, checkpoint=True)
    verdict = audit_verify(checkpoint_file="")
    log(f"sealed {sealed.sealed:,} new events; verify_audit: {verdict.summary()}")
    if not verdict.ok:
        problems.append("verify_audit failed: " + verdict.summary())
    return problems


def max_order_id() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM orders_order")
        return int(cursor.fetchone()[0])


def serves_again(clients: list[Client]) -> list[str]:
    """The server answers without a restart: health, and a signed-in page and an order."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and get_status("/healthz") != 200:
        time.sleep(0.5)
    problems = []
    if get_status("/healthz") != 200:
        problems.append("the server does not answer /healthz")
    client = clients[0]
    client.conn = http.client.HTTPConnection(HOST, PORT, timeout=30)
    ok_holdings, detail = client.holdings(1)
    ok_order, order_detail = client.order(2)
    if not (ok_holdings and ok_order):
        problems.append(f"the server does not serve again: {detail}, {order_detail}")
    return problems


# --- The drills -------------------------------------------------------------------------------


# The error rate each drill tolerates. Without a fault none is expected (one in a hundred leaves
# room for a request cut by the run's end). A SIGKILLed sync worker loses the request it was
# serving, twice. While PostgreSQL restarts (about 3 s of 20 on a quiet machine, longer on a busy
# one) every request is answered 503 with the "Lyfta når inte sin databas" page.
ERROR_RATE_LIMIT = {"load": 0.01, "kill-worker": 0.05, "pg-restart": 0.30}


def drill_under_load(url: str, name: str, seconds: float, users: int, fault: Any) -> int:
    from django.db import connection

    server = Server(url)
    server.start()
    try:
        people = sign_in_people(users)
        connection.close()
        since = max_order_id()
        injector = threading.Thread(target=fault, args=(server,))
        injector.start()
        print(f"[{name}] {seconds:.0f} s of Locust load, {users} users, 2 gunicorn workers:")
        # Under a fault the prescribers order about as often as they do everything else (the
        # orders are what the checks look at); the plain load keeps the day's mix.
        load = run_locust(name, people, users, seconds, order_weight=2 if name == "load" else 12)
        injector.join()
        first = people["prescribers"][0]
        client = Client(first["cookie"], [p["id"] for p in first["patients"]], people["articles"])
        problems = serves_again([client])
    finally:
        server.stop()
    problems += checks(since)
    created = max_order_id() - since
    placed = load["requests"].get("order create", {"requests": 0, "failures": 0})
    confirmed = placed["requests"] - placed["failures"]
    log(f"{created} orders created during the drill; {confirmed} confirmed to clients")
    if confirmed > created:
        problems.append("a client was told an order was registered that is not in the database")
    limit = ERROR_RATE_LIMIT[name]
    if load["overall"]["error_rate"] > limit:
        problems.append(f"error rate {load['overall']['error_rate']:.2%} above {limit:.0%}")
    for problem in problems:
        print(f"  FAILED: {problem}")
    print(f"[{name}] {'passed' if not problems else 'FAILED'}", flush=True)
    return 1 if problems else 0


def no_fault(server: Server) -> None:
    return None


def kill_worker(server: Server) -> None:
    for pause in (4.0, 6.0):
        time.sleep(pause)
        pids = server.worker_pids()
        if pids:
            log(f"kill -9 worker {pids[0]}")
            os.kill(pids[0], signal.SIGKILL)


def pg_restart(server: Server) -> None:
    time.sleep(5)
    version, cluster = drill_cluster()
    log(f"restarting PostgreSQL ({version}/{cluster})")
    t0 = time.monotonic()
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "restart", "-m", "fast"],
        check=True,
    )
    log(f"PostgreSQL back after {time.monotonic() - t0:.1f} s")


def drill_cluster() -> tuple[str, str]:
    """The (version, name) of the local cluster that serves the drill database: the one on its
    port (a drill database on a cluster of its own leaves the others running)."""
    port = str(urlsplit(drill_url()).port or 5432)
    listing = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True
    ).stdout
    for line in listing.splitlines():
        version, cluster, cluster_port, *_ = line.split()
        if cluster_port == port:
            return version, cluster
    raise SystemExit(f"no local PostgreSQL cluster on port {port} (pg_lsclusters)")


def backup_restore(url: str) -> int:
    """pg_dump the drill database, restore it into a new one, verify its audit chain and compare
    the row counts of the big tables."""
    from django.db import connection

    from bench import scale

    parts = urlsplit(url)
    source = parts.path.lstrip("/")
    target = f"{source}_restored"
    dump = ROOT / "var" / f"{source}.dump"
    dump.parent.mkdir(exist_ok=True)
    pg = ["-h", parts.hostname or HOST, "-p", str(parts.port or 5432), "-U", parts.username or ""]
    before = scale.counts()
    connection.close()
    t0 = time.monotonic()
    subprocess.run(["pg_dump", *pg, "-Fc", "-f", str(dump), source], check=True)
    log(f"pg_dump: {time.monotonic() - t0:.1f} s, {dump.stat().st_size / 1e6:.1f} MB")
    subprocess.run(["dropdb", *pg, "--if-exists", target], check=True)
    subprocess.run(["createdb", *pg, target], check=True)
    t0 = time.monotonic()
    subprocess.run(["pg_restore", *pg, "-d", target, "--no-owner", str(dump)], check=True)
    log(f"pg_restore: {time.monotonic() - t0:.1f} s")
    restored_url = parts._replace(path=f"/{target}").geturl()
    verify = subprocess.run(
        [sys.executable, "manage.py", "verify_audit"],
        cwd=ROOT,
        env=server_env(restored_url),
        capture_output=True,
        text=True,
        check=False,
    )
    log(f"verify_audit on the restored database: exit {verify.returncode}: {verify.stdout.strip()}")
    counter = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from bench import scale; "
         "print(repr(scale.counts()))"],
        cwd=ROOT, env=server_env(restored_url), capture_output=True, text=True, check=False,
    )  # fmt: skip
    after = eval(counter.stdout.strip()) if counter.returncode == 0 else {}  # noqa: S307
    problems = []
    if verify.returncode != 0:
        problems.append("verify_audit failed on the restored database")
    for table, n in before.items():
        print(f"  {table:<28} {n:>12,} -> {after.get(table, -1):>12,}")
        if after.get(table) != n:
            problems.append(f"{table}: {n} rows before, {after.get(table)} restored")
    subprocess.run(["dropdb", *pg, "--if-exists", target], check=True)
    dump.unlink()
    for problem in problems:
        print(f"  FAILED: {problem}")
    print(f"[backup-restore] {'passed' if not problems else 'FAILED'}", flush=True)
    return 1 if problems else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("drill", choices=["load", "kill-worker", "pg-restart", "backup-restore"])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=12, help="Locust users (default 12)")
    args = parser.parse_args()
    url = drill_url()
    setup(url)
    if args.drill == "backup-restore":
        sys.exit(backup_restore(url))
    fault = {"load": no_fault, "kill-worker": kill_worker, "pg-restart": pg_restart}[args.drill]
    sys.exit(drill_under_load(url, args.drill, args.seconds, args.users, fault))


if __name__ == "__main__":
    main()
