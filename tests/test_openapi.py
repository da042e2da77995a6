"""The OpenAPI documents: generated from the route table, committed, complete, and served."""

import json

import pytest

from conbench import openapi
from conbench.api_operations import OPERATIONS
from conbench.paths import ROOT
from conbench.resources import docs

REGENERATE = "regenerate with `python -m conbench.openapi`"


@pytest.fixture(scope="module")
def app():
    return openapi.reference_app()


@pytest.fixture(scope="module")
def documents(app):
    return openapi.render_documents(app)


@pytest.fixture(scope="module")
def modern(documents):
    return json.loads(documents["openapi.json"])


@pytest.fixture(scope="module")
def legacy(documents):
    return json.loads(documents["legacy-docs.json"])


@pytest.fixture
def docs_client(client):
    """The app's client (the docs routes are part of every app)."""
    return client


def _operations(doc):
    return {
        (method.upper(), path) for path, item in doc["paths"].items() for method in item
    }  # fmt: skip


def _walk(node, where="#"):
    """Every dict in a document, with a JSON-pointer-like location."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{where}/{index}")


@pytest.mark.parametrize("name", openapi.COMMITTED)
def test_committed_document_equals_a_fresh_one(documents, name):
    committed = (openapi.DOCS_API_DIR / name).read_text(encoding="utf-8")
    assert committed == documents[name], f"docs/api/{name} is stale: {REGENERATE}"


def test_every_registered_operation_is_declared(app):
    missing = openapi.undocumented(app)
    assert not missing, f"declare in conbench/api_operations*.py, then {REGENERATE}: {missing}"


@pytest.mark.parametrize("surface", ["modern", "legacy"])
def test_each_document_holds_exactly_the_operations_of_its_surface(app, modern, legacy, surface):
    doc = modern if surface == "modern" else legacy
    expected = {(m, openapi.doc_path(p)) for m, p in openapi.registered(app, surface)}
    assert _operations(doc) == expected


def test_every_declared_operation_on_a_registered_path_has_a_responder(app):
    keys = set(openapi.registered(app, "modern") + openapi.registered(app, "legacy"))
    paths = {route.path for route in app.route_table.routes}
    unused = [key for key in OPERATIONS if key[1] in paths and key not in keys]
    assert not unused, f"declared, but the route has no such responder: {unused}"


def test_operation_ids_are_unique():
    ids = [op.operation_id for op in OPERATIONS.values()]
    assert len(ids) == len(set(ids))


def test_metrics_and_the_documentation_routes_are_in_neither_document(modern, legacy):
    for doc in (modern, legacy):
        for path in doc["paths"]:
            assert path != "/metrics"
            assert not path.startswith(("/openapi", "/docs", "/api/docs", "/api/redoc")), path


def test_the_modern_document_has_no_slashed_legacy_paths(modern):
    assert modern["paths"]
    assert [path for path in modern["paths"] if path.endswith("/")] == []


def test_every_reference_resolves(modern, legacy):
    for doc in (modern, legacy):
        schemas = doc["components"]["schemas"]
        for where, node in _walk(doc):
            target = node.get("$ref")
            if isinstance(target, str):
                assert target.removeprefix("#/components/schemas/") in schemas, where


def test_the_pinned_enumerations_are_in_the_modern_document(modern):
    schemas = modern["components"]["schemas"]
    assert schemas["SeriesStatus"]["enum"] == ["regressed", "improved", "stable", "insufficient"]
    assert schemas["CIRowStatus"]["enum"] == [
        "regressed", "improved", "stable", "insufficient", "errored", "missing_baseline",
        "not_comparable",
    ]  # fmt: skip
    assert schemas["CIReportStatus"]["enum"] == ["success", "failure", "action_required", "skipped"]
    assert schemas["Series"]["properties"]["status"]["$ref"].endswith("/SeriesStatus")
    assert schemas["CIRow"]["properties"]["status"]["$ref"].endswith("/CIRowStatus")
    assert schemas["CIReport"]["properties"]["status"]["$ref"].endswith("/CIReportStatus")


def test_versions_are_31_for_modern_and_30_for_the_downgrade_and_legacy(documents, modern, legacy):
    assert modern["openapi"] == "3.1.0"
    assert legacy["openapi"].startswith("3.0.")
    assert documents["openapi-3.0.yaml"].startswith('openapi: "3.0.3"\n')


@pytest.mark.parametrize("which", ["modern-3.0", "legacy"])
def test_the_30_documents_have_no_31_constructs(modern, legacy, which):
    doc = openapi.downgrade_to_30(modern) if which == "modern-3.0" else legacy
    for where, node in _walk(doc):
        assert not isinstance(node.get("type"), list), where
        assert node.get("type") != "null", where
        assert "const" not in node, where
        assert node.get("exclusiveMinimum") in (None, True), where
        if "$ref" in node:
            assert len(node) == 1, where


def test_downgrade_rewrites_each_31_construct():
    ref = {"$ref": "#/components/schemas/A"}
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1", "license": {"name": "MIT", "identifier": "MIT"}},
        "paths": {},
        "components": {
            "schemas": {
                "A": {"type": ["string", "null"], "examples": ["x"]},
                "B": {"anyOf": [ref, {"type": "null"}]},
                "C": {"const": "machine"},
                "D": {"type": "number", "exclusiveMinimum": 0},
                "E": {"type": ["integer", "string"]},
                "F": {"$ref": ref["$ref"], "description": "d"},
            }
        },
    }
    out = openapi.downgrade_to_30(doc)
    assert out["openapi"] == "3.0.3"
    assert out["info"]["license"] == {"name": "MIT"}
    assert out["components"]["schemas"] == {
        "A": {"type": "string", "nullable": True, "example": "x"},
        "B": {"allOf": [ref], "nullable": True},
        "C": {"enum": ["machine"]},
        "D": {"type": "number", "minimum": 0, "exclusiveMinimum": True},
        "E": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "F": {"allOf": [ref], "description": "d"},
    }
    assert doc["components"]["schemas"]["A"]["type"] == ["string", "null"], "input unchanged"


@pytest.mark.parametrize(
    "value, expected",
    [
        ({"a": "plain text"}, "a: plain text\n"),
        ({"a": "yes"}, 'a: "yes"\n'),
        ({"a": "null"}, 'a: "null"\n'),
        ({"a": "2024-01-01"}, 'a: "2024-01-01"\n'),
        ({"a": "key: value"}, 'a: "key: value"\n'),
        ({"a": " padded"}, 'a: " padded"\n'),
        ({"a": "say \"hi\"\t"}, 'a: "say \\"hi\\"\\t"\n'),
        ({"a": "two\nlines"}, "a: |-\n  two\n  lines\n"),
        ({"a": "line\n"}, 'a: "line\\n"\n'),
        ({"a": "\u2028"}, 'a: "\\u2028"\n'),
        ({"200": {"$ref": "#/x"}}, '"200":\n  $ref: "#/x"\n'),
        ({"/api/x/{id}": [1, 1e-05, None, True, [], {}]},
         "/api/x/{id}:\n  - 1\n  - 1.0e-05\n  - null\n  - true\n  - []\n  - {}\n"),
        ({"a": [{"b": 1, "c": [2]}]}, "a:\n  - b: 1\n    c:\n      - 2\n"),
    ],
)  # fmt: skip
def test_yaml_quotes_what_a_reader_could_misread(value, expected):
    assert openapi.to_yaml(value) == expected


def test_yaml_reads_back_equal_with_pyyaml(documents, modern):
    yaml = pytest.importorskip("yaml", reason="PyYAML is not a dependency")
    assert yaml.safe_load(documents["openapi.yaml"]) == modern
    tricky = {"s": ["yes", "~", "=", "<<", "0x1F", "a #b", "- x", "x\n\ny", "\x85", "🎉"]}
    assert yaml.safe_load(openapi.to_yaml(tricky)) == tricky


@pytest.mark.parametrize(
    "path, name",
    [
        ("/openapi.yaml", "openapi.yaml"),
        ("/openapi-3.0.yaml", "openapi-3.0.yaml"),
        ("/api/docs.json", "legacy-docs.json"),
    ],
)
def test_served_document_equals_the_committed_file(docs_client, path, name):
    resp = docs_client.simulate_get(path)
    assert resp.status_code == 200
    assert resp.text == (openapi.DOCS_API_DIR / name).read_text(encoding="utf-8")


def test_openapi_json_is_the_modern_document(docs_client, modern):
    resp = docs_client.simulate_get("/openapi.json")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json == modern


@pytest.mark.parametrize("path", ["/docs", "/api/docs", "/api/redoc"])
def test_docs_pages_are_served(docs_client, path):
    resp = docs_client.simulate_get(path)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/docs/docs.js">' in resp.text


@pytest.mark.parametrize("name, media", [("docs.js", "text/javascript"), ("docs.css", "text/css")])
def test_docs_assets_are_served(docs_client, name, media):
    resp = docs_client.simulate_get(f"/docs/{name}")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith(media)


def test_files_outside_the_asset_list_are_404(docs_client):
    assert docs_client.simulate_get("/docs/index.html").status_code == 404
    assert docs_client.simulate_get("/docs/..%2F..%2Fsetup.cfg").status_code == 404


def test_serving_documents_does_not_touch_the_database(settings):
    from falcon import testing

    from conbench.app import create_app

    class NoDatabase:
        def open(self):
            raise AssertionError("the docs opened the database")

        close = connection = open

    app = create_app(settings, NoDatabase())
    if not any(route.path == "/openapi.json" for route in app.route_table.routes):
        docs.add_routes(app.route_table, None)
    assert testing.TestClient(app).simulate_get("/openapi.json").status_code == 200


def test_every_modern_route_is_mentioned_in_the_api_guide(modern):
    guide = ROOT / "docs" / "api.md"
    if not guide.exists():
        pytest.skip("docs/api.md is not written yet")
    text = guide.read_text(encoding="utf-8")
    missing = [path for path in modern["paths"] if f"`{path}" not in text and path not in text]
    assert not missing, f"modern routes missing from docs/api.md: {missing}"


# -- contract: real bodies against the documented schemas --------------------------------------

_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def schema_errors(value, schema, components, where="body"):
    """The ways `value` breaks `schema`: the JSON Schema subset the documents use (3.0 and 3.1)."""
    if value is None and schema.get("nullable"):
        return []
    if "$ref" in schema:
        return schema_errors(value, components[schema["$ref"].split("/")[-1]], components, where)
    errors = []
    kinds = schema.get("type")
    if kinds and not any(_TYPES[k](value) for k in ([kinds] if isinstance(kinds, str) else kinds)):
        return [f"{where}: {value!r} is not {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        errors.append(f"{where}: {value!r} is not {schema['const']!r}")
    for sub in schema.get("allOf", []):
        errors += schema_errors(value, sub, components, where)
    if "anyOf" in schema and all(schema_errors(value, s, components) for s in schema["anyOf"]):
        errors.append(f"{where}: matches none of anyOf")
    if "oneOf" in schema:
        matches = sum(not schema_errors(value, s, components) for s in schema["oneOf"])
        if matches != 1:
            errors.append(f"{where}: matches {matches} of oneOf")
    if isinstance(value, dict):
        errors += [f"{where}: missing {k}" for k in schema.get("required", []) if k not in value]
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in properties:
                errors += schema_errors(item, properties[key], components, f"{where}.{key}")
            elif extra is False:
                errors.append(f"{where}: unexpected key {key}")
            elif isinstance(extra, dict):
                errors += schema_errors(item, extra, components, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += schema_errors(item, schema["items"], components, f"{where}[{index}]")
    return errors


def _body_schema(doc, method, path, status):
    op = doc["paths"][path][method]
    if status is None:
        return op["requestBody"]["content"]["application/json"]["schema"]
    return op["responses"][str(status)]["content"]["application/json"]["schema"]


def test_the_payload_builders_match_the_documented_request_bodies(modern, legacy):
    from tests import payloads

    on_cluster = {"machine_info": payloads.DROP, "cluster_info": payloads.cluster_info()}
    cases = [
        (legacy, "/api/benchmark-results/", payloads.legacy_result(), True),
        (modern, "/api/results", payloads.modern_result(), True),
        (modern, "/api/results", [payloads.modern_result(), payloads.modern_result()], True),
        (modern, "/api/results", payloads.modern_result(machine_info=payloads.DROP), False),
        (modern, "/api/results", payloads.modern_result(**on_cluster), True),
        (legacy, "/api/benchmark-results/", payloads.legacy_result(surprise=1), False),
    ]
    for doc, path, body, valid in cases:
        if path not in doc["paths"]:
            continue
        schema = _body_schema(doc, "post", path, None)
        errors = schema_errors(body, schema, doc["components"]["schemas"])
        assert (not errors) == valid, (path, errors)


# GET requests whose 200 bodies are checked: (document, route path, query); `{...}` fields are
# filled from the rows `contract_rows` makes.
SAMPLES = [
    ("modern", "/api/ping", ""),
    ("modern", "/api/benchmark-results", "run_id={run_id}"),
    ("modern", "/api/benchmark-results/{id}", ""),
    ("modern", "/api/runs/recent", ""),
    ("modern", "/api/history/{benchmark_result_id}", ""),
    ("modern", "/api/history", "fingerprint={fingerprint}"),
    ("modern", "/api/series", ""),
    ("modern", "/api/compare/benchmark-results", "baseline={result}&contender={result}"),
    ("modern", "/api/ci/report", "run_ids={run_id}"),
    ("legacy", "/api/", ""),
    ("legacy", "/api/ping/", ""),
    ("legacy", "/api/benchmark-results/", "run_id={run_id}"),
    ("legacy", "/api/benchmark-results/{id}/", ""),
    ("legacy", "/api/benchmarks/{id}/", ""),
    ("legacy", "/api/runs/", "commit_hash={sha}"),
    ("legacy", "/api/runs/{run_id}/", ""),
    ("legacy", "/api/compare/benchmark-results/{ids}/", ""),
    ("legacy", "/api/compare/runs/{run_ids}/", ""),
    ("legacy", "/api/history/{benchmark_result_id}/", ""),
    ("legacy", "/api/commits/", "sha={sha}"),
    ("legacy", "/api/commits/{commit}/", ""),
    ("legacy", "/api/hardware/", ""),
    ("legacy", "/api/hardware/{hardware}/", ""),
    ("legacy", "/api/contexts/", ""),
    ("legacy", "/api/contexts/{context}/", ""),
    ("legacy", "/api/info/", ""),
    ("legacy", "/api/info/{info}/", ""),
    ("legacy", "/api/users/", ""),
    ("legacy", "/api/users/{user}/", ""),
]
# The documents name the fields generically; the samples say which row fills them.
_SAMPLE_PATHS = {
    "/api/compare/runs/{run_ids}/": "/api/compare/runs/{ids}/",
    "/api/commits/{commit}/": "/api/commits/{id}/",
    "/api/hardware/{hardware}/": "/api/hardware/{id}/",
    "/api/contexts/{context}/": "/api/contexts/{id}/",
    "/api/info/{info}/": "/api/info/{id}/",
    "/api/users/{user}/": "/api/users/{id}/",
}


@pytest.fixture
def contract_rows(conn):
    from tests import factories

    baseline = factories.make_result(conn, commit=factories.make_commit(conn))
    result = factories.make_result(
        conn,
        commit=factories.make_commit(conn, parent=None),
        case_id=baseline["case_id"],
        context_id=baseline["context_id"],
        info_id=baseline["info_id"],
        hardware_id=baseline["hardware_id"],
    )
    commit = conn.execute("SELECT * FROM commit WHERE id = %s", (result["commit_id"],)).fetchone()
    return {
        "id": result["id"],
        "result": result["id"],
        "benchmark_result_id": result["id"],
        "ids": f"{baseline['id']}...{result['id']}",
        "run_id": result["run_id"],
        "run_ids": f"{baseline['run_id']}...{result['run_id']}",
        "fingerprint": result["history_fingerprint"],
        "sha": commit["sha"],
        "commit": commit["id"],
        "hardware": result["hardware_id"],
        "context": result["context_id"],
        "info": result["info_id"],
        "user": factories.make_user(conn)["id"],
    }


@pytest.mark.parametrize("surface, sample, query", SAMPLES)
def test_a_get_answers_what_its_document_says(
    work_db_url, db, contract_rows, modern, legacy, surface, sample, query
):
    from falcon import testing

    from conbench.app import create_app
    from conbench.config import Settings

    doc = modern if surface == "modern" else legacy
    path = _SAMPLE_PATHS.get(sample, sample)
    if path not in doc["paths"]:
        pytest.skip(f"{path} is not registered yet")
    token = "contract-test-operator-token"
    settings = Settings.from_env({"CONBENCH_DB_URL": work_db_url, "CONBENCH_API_TOKEN": token})
    client = testing.TestClient(create_app(settings, db))
    resp = client.simulate_get(
        sample.format(**contract_rows),
        query_string=query.format(**contract_rows),
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 200, resp.text
    schema = _body_schema(doc, "get", path, 200)
    assert schema_errors(resp.json, schema, doc["components"]["schemas"]) == []
