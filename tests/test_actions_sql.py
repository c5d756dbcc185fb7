"""sql.query / sql.execute on real SQLite files through SQLAlchemy Core: bound values, transactions, clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jetnb.actions import ActionError, get_action, sql

SCHEMA = "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT NOT NULL, amount REAL)"


@pytest.fixture
def shop(project: Path) -> str:
    """A relative SQLite URL: the file lands in the current folder (the project), as in a run's notebook folder."""
    url = "sqlite:///shop.db"
    sql.execute(url, SCHEMA)
    return url


def test_rows_come_back_as_dicts_and_counts_are_the_rows_changed(shop: str, project: Path) -> None:
    assert (project / "shop.db").is_file()
    added = sql.execute(shop, "INSERT INTO orders (customer, amount) VALUES (:customer, :amount)",
                        [{"customer": "ada", "amount": 42.5}, {"customer": "bob", "amount": 10.0}])
    assert added == 2
    assert sql.execute(shop, "UPDATE orders SET amount = amount * 2 WHERE amount > :floor", {"floor": 20}) == 1
    rows = sql.query(shop, "SELECT customer, amount FROM orders WHERE amount >= :least ORDER BY id", {"least": 0})
    assert rows == [{"customer": "ada", "amount": 85.0}, {"customer": "bob", "amount": 10.0}]
    assert sql.query(shop, "SELECT count(*) AS n FROM orders") == [{"n": 2}]


def test_an_injection_attempt_stays_a_bound_value(shop: str) -> None:
    evil = "x'); DROP TABLE orders; --"
    sql.execute(shop, "INSERT INTO orders (customer) VALUES (:name)", {"name": evil})
    assert sql.query(shop, "SELECT customer FROM orders") == [{"customer": evil}]
    assert sql.query(shop, "SELECT * FROM orders WHERE customer = :name", {"name": "' OR '1'='1"}) == []
    with pytest.raises(ActionError, match="shop.db: ProgrammingError: You can only execute one statement at a time"):
        sql.execute(shop, "DELETE FROM orders; DROP TABLE orders")
    assert len(sql.query(shop, "SELECT * FROM orders")) == 1


@pytest.mark.parametrize("call, params", [
    (sql.query, ("ada",)),  # positional values would be a guess at the placeholders' order
    (sql.query, [{"name": "ada"}]),  # a list runs the statement many times: no rows to return
    (sql.execute, "ada"),
    (sql.execute, [{"name": "ada"}, ("bob",)]),
    (sql.execute, []),
])
def test_params_that_are_not_mappings_are_refused(shop: str, call: Any, params: Any) -> None:
    with pytest.raises(TypeError, match="params: expected a mapping"):
        call(shop, "SELECT * FROM orders WHERE customer = :name", params)


def test_a_failing_statement_rolls_back_and_says_what_the_database_said(shop: str) -> None:
    with pytest.raises(ActionError, match="shop.db: IntegrityError: NOT NULL constraint failed: orders.customer"):
        sql.execute(shop, "INSERT INTO orders (customer, amount) VALUES (:c, :a)",
                    [{"c": "ada", "a": 1.0}, {"c": None, "a": 2.0}])
    assert sql.query(shop, "SELECT * FROM orders") == []  # the first row went with the transaction
    with pytest.raises(ActionError, match="shop.db: OperationalError: no such table: refunds"):
        sql.query(shop, "SELECT * FROM refunds")
    with pytest.raises(ActionError, match="A value is required for bind parameter 'name'$"):
        sql.query(shop, "SELECT * FROM orders WHERE customer = :name")


def test_a_bad_url_is_named_without_its_password(project: Path) -> None:
    with pytest.raises(ValueError, match="url: not a database URL") as caught:
        sql.query("postgresql//bob:pw-S3CRET@db.internal/shop", "SELECT 1")
    assert "pw-S3CRET" not in str(caught.value)
    with pytest.raises(ValueError, match="url: not a valid URL") as caught_port:
        sql.query("postgresql://bob:pw-S3CRET@db.internal:port/shop", "SELECT 1")
    assert "pw-S3CRET" not in str(caught_port.value)
    with pytest.raises(ValueError, match="sql: must not be empty"):
        sql.execute("sqlite://", "  ")


def test_the_registered_sql_action_takes_keyword_arguments(shop: str) -> None:
    run = get_action("sql")
    assert run is sql.execute
    assert run(url=shop, sql="INSERT INTO orders (customer) VALUES (:c)", params={"c": "ada"}) == 1
