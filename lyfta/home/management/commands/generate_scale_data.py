"""Grow the demo county into a region or a nation of synthetic data (issue "Scale and faults").
The generator itself lives with the benchmarks, in `bench/scale.py`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from lyfta.access.commands import SystemCommand


class Command(SystemCommand):
    help = "Generate synthetic scale data (PostgreSQL): --size small|regional|national."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--size", choices=["small", "regional", "national"], default="regional")
        parser.add_argument("--seed", type=int, default=2026)

    def run(self, *args: Any, **options: Any) -> None:
        from bench.scale import generate

        generate(options["size"], seed=options["seed"], out=self.stdout.write)
