"""Contract tests that every route of a surface must pass, whoever registered it."""
