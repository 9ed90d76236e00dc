from django.apps import AppConfig


class MessagesConfig(AppConfig):
    name = "lyfta.messages"
    label = "inbox"
