"""Small SQL builders shared by the apps' raw statements (plain Python: no Django import).

`unnest_rows` is the one way a batch of rows travels to PostgreSQL as parallel arrays: one array parameter
per column, each cast to its column type, the columns named once beside their types, so a statement's
``unnest(...)`` and its alias list cannot drift apart (a 10-column batch insert used to spell both by hand).
"""

from collections.abc import Sequence

Columns = Sequence[tuple[str, str]]


def unnest_rows(alias: str, columns: Columns, *, ordinality: str | None = None) -> str:
    """``unnest(%s::t1[], %s::t2[], ...) [WITH ORDINALITY] AS alias(c1, c2, ...[, ordinality])``.

    `columns`: (name, PostgreSQL type) pairs in parameter order; `ordinality`: the name of the row-number
    column (WITH ORDINALITY), if the statement needs the rows' order.
    """
    if not columns:
        raise ValueError("unnest_rows needs at least one column")
    arrays = ", ".join(f"%s::{pg_type}[]" for _, pg_type in columns)
    names = [name for name, _ in columns] + ([ordinality] if ordinality else [])
    with_ordinality = " WITH ORDINALITY" if ordinality else ""
    return f"unnest({arrays}){with_ordinality} AS {alias}({', '.join(names)})"
