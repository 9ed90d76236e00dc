"""The inbox."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from lyfta.core.http import LyftaRequest
from lyfta.messages.models import Message
from lyfta.messages.services import message_mark_read


@require_GET
def inbox(request: LyftaRequest) -> HttpResponse:
    messages = Message.objects.filter(recipient=request.user)[:100]
    return render(request, "messages/inbox.html", {"inbox": messages})


@require_POST
def open_message(request: LyftaRequest, message_id: int) -> HttpResponse:
    message = message_mark_read(user=request.user, message_id=message_id)
    if message is None or not message.link:
        return redirect("messages:inbox")
    if not url_has_allowed_host_and_scheme(message.link, allowed_hosts={request.get_host()}):
        return redirect("messages:inbox")
    return redirect(message.link)
