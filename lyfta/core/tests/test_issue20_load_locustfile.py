"""The load of `make load` and `make drills` (issue 20 point 4): the locustfile imports, has a
user class per role, and names every request by its route, so that no patient id, personnummer or
name reaches Locust's reports. No server is started: the load itself runs in the drills only.

The locustfile is imported in a process of its own: Locust monkey-patches the standard library
with gevent on import, which must not reach the test process."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

LOCUSTFILE = Path(__file__).resolve().parents[3] / "bench" / "locustfile.py"

INSPECT = """
import importlib.util, json, sys
from locust import User
spec = importlib.util.spec_from_file_location("locustfile", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
users = {
    name: sorted({task.__name__ for task in cls.tasks})
    for name, cls in vars(module).items()
    if isinstance(cls, type) and issubclass(cls, User) and cls.__module__ == "locustfile"
    and not cls.__dict__.get("abstract")
}
print(json.dumps({
    "names": sorted(module.NAMES),
    "users": users,
    "figures": [name for *_, name in module.Statistics.FIGURES],
}))
"""

# Where each helper takes the request's name.
NAME_ARGUMENT = {"page": 1, "form": 1, "_send": 2, "search": 1}


def inspected() -> dict[str, object]:
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", INSPECT, str(LOCUSTFILE)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(result.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def test_issue20_the_locustfile_has_a_user_class_per_role_each_with_tasks() -> None:
    users = inspected()["users"]

    assert isinstance(users, dict)
    assert set(users) == {"Prescriber", "Logistics", "LogReviewer", "Statistics"}
    assert all(users.values())
    assert {"holdings", "order", "pickup", "search_by_personnummer", "search_by_name"} <= set(
        users["Prescriber"]
    )


def test_issue20_every_load_request_is_named_by_its_route_without_a_number() -> None:
    """Every name is declared (a request under any other is refused at run time), none holds a
    digit, and no call names its request with an f-string, which could carry an id."""
    found = inspected()
    names = found["names"]
    assert isinstance(names, list) and isinstance(found["figures"], list)
    assert names
    assert not [name for name in names if any(ch.isdigit() for ch in name)]
    assert set(found["figures"]) <= set(names)

    tree = ast.parse(LOCUSTFILE.read_text(encoding="utf-8"))
    calls = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in NAME_ARGUMENT
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
    ]
    assert calls
    for call in calls:
        assert isinstance(call.func, ast.Attribute)
        name = call.args[NAME_ARGUMENT[call.func.attr]]
        assert isinstance(name, ast.Constant | ast.Name), ast.unparse(call)
        if isinstance(name, ast.Constant):
            assert name.value in names, ast.unparse(call)
    # Only the one helper sends: every request passes its check of the name.
    senders = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "request"
        and isinstance(node.value, ast.Attribute) and node.value.attr == "client"
    ]  # fmt: skip
    assert len(senders) == 1
