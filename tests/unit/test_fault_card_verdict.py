"""A fault test's report card takes its verdict from the test's pytest outcome (tests/faults/conftest.py), so
a test that errors before its checks, with nothing on the card yet, is never printed PASS."""

from types import SimpleNamespace

from tests.support.checker import Card, outcome_verdict


def report(outcome: str, message: str = "") -> SimpleNamespace:
    """What the verdict reads of a pytest.TestReport: its outcome flags and its crash line."""
    return SimpleNamespace(
        passed=outcome == "passed",
        failed=outcome == "failed",
        skipped=outcome == "skipped",
        longrepr=SimpleNamespace(reprcrash=SimpleNamespace(message=message)) if message else None,
    )


def test_a_test_that_errors_before_its_checks_is_printed_fail_with_the_error():
    card = Card("test_x")  # no problem recorded: the error came first
    verdict = outcome_verdict(report("passed"), report("failed", "TimeoutError: 5 reports not reached within 30 s"))

    assert verdict == "FAIL (TimeoutError: 5 reports not reached within 30 s)"
    assert (
        card.format(verdict=verdict).splitlines()[-1]
        == "    verdict: FAIL (TimeoutError: 5 reports not reached within 30 s)"
    )


def test_a_passed_test_is_printed_pass():
    assert outcome_verdict(report("passed"), report("passed")) == "PASS"


def test_a_setup_error_is_printed_as_such():
    verdict = outcome_verdict(report("failed", "RuntimeError: redis-server exited\nmore"), None)

    assert verdict == "ERROR in setup (RuntimeError: redis-server exited)"


def test_a_test_body_that_never_ran_is_no_pass():
    assert outcome_verdict(report("passed"), None) == "ERROR (the test body did not run)"


def test_without_an_outcome_the_card_judges_by_its_problems():
    card = Card("soak")
    assert card.format().splitlines()[-1] == "    verdict: PASS"
    card.problem("1 log failed")
    assert card.format().splitlines()[-1] == "    verdict: FAIL"
