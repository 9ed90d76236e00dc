"""Base models shared by every domain app."""

from django.db import models


class TimestampedModel(models.Model):
    """A model that records when each row was created and last changed."""

    created_at = models.DateTimeField(auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    class Meta:
        abstract = True
