"""docs/configuration.md is generated from SETTINGS, and SETTINGS covers every setting."""

from dataclasses import fields

from conbench.config import DOC_PATH, GROUPS, SETTINGS, Settings, render_configuration_doc
from conbench.envvalues import PARSERS

REGENERATE = (
    'python -c "from conbench.config import write_configuration_doc; write_configuration_doc()"'
)


def test_configuration_doc_is_up_to_date() -> None:
    committed = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
    assert committed == render_configuration_doc(), (
        f"docs/configuration.md is stale; regenerate it with: {REGENERATE}"
    )


def test_every_settings_field_has_a_row() -> None:
    documented = {row.field for row in SETTINGS}
    missing = [
        f.name for f in fields(Settings) if f.name != "warnings" and f.name not in documented
    ]
    assert missing == [], f"Settings fields without a SETTINGS row: {missing}"


def test_every_row_is_a_settings_field_with_a_known_kind_and_group() -> None:
    names = {f.name for f in fields(Settings)}
    for row in SETTINGS:
        assert row.field in names, row.env
        assert row.kind in PARSERS, row.env
        assert row.group in GROUPS, row.env
        assert row.help.endswith("."), row.env


def test_each_variable_appears_once() -> None:
    envs = [row.env for row in SETTINGS]
    assert len(envs) == len(set(envs))
