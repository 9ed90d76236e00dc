"""The order page's article search works without JavaScript too (issue 16, found by the
every-page harness): the form's GET then opens the results as a page of their own, with the
site's header, a title and the way back; htmx still gets the bare results to swap in."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from conftest import Persona, signed_in
from lyfta.orders.tests.conftest import Shop

pytestmark = pytest.mark.django_db


def test_article_results_are_a_whole_page_without_javascript(
    client: Client, shop: Shop, alice: Persona
) -> None:
    signed_in(client, alice)
    url = reverse("orders:articles", args=[shop.patient.pk])
    page = client.get(url, {"q": "rollator"}).content.decode()
    assert page.startswith("<!doctype html>") and '<html lang="sv">' in page
    assert "<title>Sök artikel – Lyfta</title>" in page and "Rollator Delta" in page
    assert reverse("orders:order_new", args=[shop.patient.pk]) in page

    fragment = client.get(url, {"q": "rollator"}, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div id="article-results">') and "Rollator Delta" in fragment
    assert "<html" not in fragment
