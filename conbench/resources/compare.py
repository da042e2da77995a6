"""Routes of this family are added as they are built."""


def add_routes(table, ctx) -> None:  # type: ignore[no-untyped-def]
    """No routes yet."""
