"""The device-flow fixtures of the orders tests, for the stock pages' tests."""

from lyfta.orders.tests.conftest import shop  # noqa: F401 - a fixture, found by its name
