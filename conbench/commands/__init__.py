"""Handlers of the `conbench` subcommands, imported only when their command runs."""
