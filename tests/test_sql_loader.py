import pytest

from conbench import sql
from conbench.paths import SQL_DIR


def test_queries_are_split_by_name_header_and_doc_lines_are_dropped():
    text = "-- name: get_a\n-- the doc\nSELECT 1\n\n-- name: list_b\nSELECT 2\nFROM t\n"
    assert sql.parse_queries(text) == {"get_a": "SELECT 1", "list_b": "SELECT 2\nFROM t"}


def test_a_query_defined_twice_is_refused():
    with pytest.raises(sql.QueryFileError, match="defined twice"):
        sql.parse_queries("-- name: a\nSELECT 1\n-- name: a\nSELECT 2\n")


def test_a_header_without_statement_is_refused():
    with pytest.raises(sql.QueryFileError, match="no statement"):
        sql.parse_queries("-- name: a\n-- only a comment\n")


QUERY_FILES = sorted(p for p in SQL_DIR.glob("*.sql") if p.name != "schema.sql")


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.name)
def test_every_query_file_loads_and_names_state_their_shape(path):
    queries = sql.load(path.stem)
    assert queries
    verbs = ("get_", "list_", "count_", "exists_", "insert_", "upsert_", "update_", "delete_")
    assert all(name.startswith(verbs) for name in queries), queries.keys()
