"""Django ``TextChoices`` built from the vocabulary (common.vocabulary), so that no model retypes a code or a label."""

from collections.abc import Iterable

from django.db import models

from common.vocabulary import Term


def text_choices(name: str, terms: Iterable[Term]) -> type[models.TextChoices]:
    """A ``TextChoices`` class called ``name`` with one member per term: the member's name is the code in capitals
    (dots as underscores: ``alert.opened`` is ``ALERT_OPENED``), its value the code, its label the term's label."""
    members = [(term.code.upper().replace(".", "_"), (term.code, term.label)) for term in terms]
    return models.TextChoices(name, members)  # type: ignore[return-value]
