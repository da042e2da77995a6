"""Documentation that must stay true: generated references and the metrics list."""

import pytest

from conbench import docsgen, metrics


@pytest.mark.parametrize("name", sorted(docsgen.GENERATED))
def test_generated_reference_is_up_to_date(name):
    committed = (docsgen.DOCS_DIR / name).read_text(encoding="utf-8")
    assert committed == docsgen.GENERATED[name](), (
        f"docs/{name} is stale: regenerate with `python -m conbench.docsgen`"
    )


def test_every_metric_is_documented():
    text = (docsgen.DOCS_DIR / "operations.md").read_text(encoding="utf-8")
    names = ["conbench_up"] + [
        m._name + ("_total" if m._type == "counter" else "")
        for m in vars(metrics).values()
        if hasattr(m, "_type") and hasattr(m, "_name")
    ]
    assert len(names) >= 5
    missing = [n for n in names if f"`{n}" not in text]
    assert not missing, f"metrics missing from docs/operations.md: {missing}"
