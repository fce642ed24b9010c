"""`manage.py analytics_scorecard` runs the scorecard CLI (a small fleet here: the figures are not the point)."""

from django.core.management import call_command


def test_the_command_prints_the_tuning_and_held_out_scorecards(capsys):
    call_command("analytics_scorecard", "--vehicles", "12", "--seed", "3", "--held-out-seed", "4", "--no-timing")

    out = capsys.readouterr().out.lower()
    assert "held-out" in out
    assert "weak cells" in out
    assert "precision" in out
