"""Builders of the desks' figures (deliveries, reuse, reconditioning, pick-ups, work orders,
billing, deviations, repairs, losses): see `Measure` for what each counts."""

from __future__ import annotations
