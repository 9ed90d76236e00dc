"""The FHIR tests reuse the API's fixtures: a machine client of unit A (`machine`, `api`) and the
device flow's small shop."""

from lyfta.api.tests.conftest import api, machine  # noqa: F401 - the fixtures, for these tests too
from lyfta.orders.tests.conftest import shop  # noqa: F401
