"""`manage.py analytics_scorecard`: the analytics run over simulated fleets whose truth is known, scored
(weak/hot cells, jumps, the 80 % forecast and its interval) on tuning and held-out seeds.

The same as `python -m analytics.scorecard_cli`, which needs no Django and documents the options.
"""

from typing import Any

from django.core.management.base import BaseCommand

from analytics.scorecard_cli import main


class Command(BaseCommand):
    help = "Score the analytics on simulated fleets with known truth (weak/hot cells, jumps, forecast)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--vehicles", type=int, default=300)
        parser.add_argument("--seed", type=int, action="append")
        parser.add_argument("--lfp-share", type=float, default=0.3)
        parser.add_argument("--held-out-seed", type=int, action="append")
        parser.add_argument("--held-out-lfp-share", type=float, default=0.5)
        parser.add_argument("--no-timing", action="store_true")

    def handle(self, *args: str, **options: Any) -> None:
        argv = ["--vehicles", str(options["vehicles"]), "--lfp-share", str(options["lfp_share"])]
        argv += ["--held-out-lfp-share", str(options["held_out_lfp_share"])]
        for seed in options["seed"] or []:
            argv += ["--seed", str(seed)]
        for seed in options["held_out_seed"] or []:
            argv += ["--held-out-seed", str(seed)]
        if options["no_timing"]:
            argv.append("--no-timing")
        main(argv)
