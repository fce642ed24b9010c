import pytest

from common.sql import unnest_rows


def test_unnest_rows_casts_each_array_and_names_the_columns_in_order():
    sql = unnest_rows("l", [("id", "uuid"), ("ts", "timestamptz"), ("cells", "jsonb")])
    assert sql == "unnest(%s::uuid[], %s::timestamptz[], %s::jsonb[]) AS l(id, ts, cells)"


def test_unnest_rows_with_ordinality_names_the_row_number_last():
    sql = unnest_rows("e", [("alert_id", "uuid"), ("body", "text")], ordinality="n")
    assert sql == "unnest(%s::uuid[], %s::text[]) WITH ORDINALITY AS e(alert_id, body, n)"


def test_unnest_rows_refuses_no_columns():
    with pytest.raises(ValueError, match="at least one column"):
        unnest_rows("x", [])
