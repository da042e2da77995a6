"""OpenAPI documents built from the app's route table and the declarations in `api_operations`.

`build_modern` documents the modern surface (OpenAPI 3.1), `downgrade_to_30` derives its 3.0 copy,
`build_legacy` documents the legacy surface (3.0, as upstream served it). The committed copies in
docs/api/ are rewritten by `python -m conbench.openapi`; a test fails when they drift.
"""

from __future__ import annotations

import copy
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conbench import __version__
from conbench.api_models import AUTH_ERRORS, PATH_PARAMETERS, Operation, Param, Response, Schema
from conbench.api_models_legacy import LEGACY_SCHEMAS
from conbench.api_models_modern import MODERN_SCHEMAS
from conbench.api_operations import MODERN_TAGS, OPERATIONS
from conbench.api_operations_legacy import LEGACY_TAGS
from conbench.paths import ROOT

DOCS_API_DIR = ROOT / "docs" / "api"
COMMITTED = ("openapi.yaml", "openapi-3.0.yaml", "legacy-docs.json")
# Documented methods, in the order OpenAPI tools show them; HEAD and OPTIONS are left out.
METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")
_FIELD = re.compile(r"\{(\w+)(?::[^}]*)?\}")

SECURITY_SCHEMES = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A user API token (`cb_…`), or the operator token CONBENCH_API_TOKEN.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "conbench_session",
        "description": "Set by the OIDC login or `POST /api/login/`. Cookie-authenticated "
        "writes must come from the server's own origin.",
    },
}
_ANY_WRITER = [{"bearerToken": []}, {"sessionCookie": []}]
SECURITY = {"write": _ANY_WRITER, "user": _ANY_WRITER, "session": [{"sessionCookie": []}]}


@dataclass(frozen=True)
class Surface:
    """What differs between the two documents."""

    name: str
    title: str
    description: str
    schemas: dict[str, Schema]
    tags: tuple[tuple[str, str], ...]
    error_media: str
    error_schema: str


MODERN = Surface(
    "modern",
    "Conbench API",
    "The Conbench HTTP API. Paths have no trailing slash, bodies are JSON and errors are "
    "`application/problem+json`. Reads are public; writes need an API token or a session. "
    "The legacy v1 API (paths ending in a slash) is described separately at `/api/docs.json`.",
    MODERN_SCHEMAS,
    MODERN_TAGS,
    "application/problem+json",
    "Problem",
)
LEGACY = Surface(
    "legacy",
    "Conbench legacy API (v1)",
    "The v1 API of the Flask-era Conbench, kept unchanged for its clients (benchclients, "
    "benchadapt, benchconnect, benchalerts). Paths end in a slash; errors are "
    "`{code, name, description}`. The modern API is described at `/openapi.yaml`.",
    LEGACY_SCHEMAS,
    LEGACY_TAGS,
    "application/json",
    "LegacyError",
)


def registered(app: Any, surface: str) -> list[tuple[str, str]]:
    """(METHOD, path as registered) for every responder of the surface's routes."""
    found = []
    for route in app.route_table.routes:
        if route.surface != surface:
            continue
        for method in METHODS:
            if callable(getattr(route.resource, f"on_{method.lower()}", None)):
                found.append((method, route.path))
    return found


def undocumented(app: Any) -> list[tuple[str, str]]:
    """Registered operations that `OPERATIONS` does not describe."""
    keys = registered(app, "modern") + registered(app, "legacy")
    return [key for key in keys if key not in OPERATIONS]


def build_modern(app: Any) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the modern surface."""
    return _build(app, MODERN)


def build_legacy(app: Any) -> dict[str, Any]:
    """The OpenAPI 3.0 document of the legacy surface."""
    return downgrade_to_30(_build(app, LEGACY))


def _build(app: Any, surface: Surface) -> dict[str, Any]:
    keys = sorted(
        registered(app, surface.name),
        key=lambda key: (doc_path(key[1]), METHODS.index(key[0])),
    )
    paths: dict[str, Any] = {}
    used_tags = set()
    for method, path in keys:
        op = OPERATIONS.get((method, path))
        item = paths.setdefault(doc_path(path), {})
        if op is None:
            item[method.lower()] = {
                "summary": "(undocumented)",
                "x-undocumented": True,
                "responses": {"default": {"description": "Not described in api_operations."}},
            }
            continue
        used_tags.add(op.tag)
        item[method.lower()] = _operation(op, path, surface)
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": surface.title,
            "version": __version__,
            "description": surface.description,
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [{"name": n, "description": d} for n, d in surface.tags if n in used_tags],
        "paths": paths,
        "components": {"schemas": surface.schemas, "securitySchemes": SECURITY_SCHEMES},
    }
    return copy.deepcopy(doc)


def doc_path(path: str) -> str:
    """The route template as OpenAPI writes it: Falcon field converters dropped."""
    return _FIELD.sub(r"{\1}", path)


def _operation(op: Operation, path: str, surface: Surface) -> dict[str, Any]:
    out: dict[str, Any] = {"tags": [op.tag], "summary": op.summary, "operationId": op.operation_id}
    if op.description:
        out["description"] = op.description
    out["x-auth"] = op.auth
    if op.auth in SECURITY:
        out["security"] = SECURITY[op.auth]
    out.update(op.extra)
    params = [
        Param(name, {"type": "string"}, PATH_PARAMETERS.get(name, ""), True, "path")
        for name in _FIELD.findall(path)
    ] + list(op.params)
    if params:
        out["parameters"] = [_parameter(p) for p in params]
    if op.body is not None:
        body = {"application/json": {"schema": op.body}}
        out["requestBody"] = {"required": True, "content": body}
    responses: dict[int, Response | str] = {**AUTH_ERRORS[op.auth], **op.responses}
    out["responses"] = {
        str(status): _response(status, responses[status], surface) for status in sorted(responses)
    }
    return out


def _parameter(param: Param) -> dict[str, Any]:
    out: dict[str, Any] = {"name": param.name, "in": param.location}
    if param.description:
        out["description"] = param.description
    if param.required:
        out["required"] = True
    out["schema"] = param.schema
    return out


def _response(status: int, response: Response | str, surface: Surface) -> dict[str, Any]:
    if isinstance(response, str):
        if status < 400:
            return {"description": response}
        error = {"$ref": f"#/components/schemas/{surface.error_schema}"}
        response = Response(response, error, media=surface.error_media)
    out: dict[str, Any] = {"description": response.description}
    if response.headers:
        out["headers"] = {
            name: {"description": text, "schema": {"type": "string"}}
            for name, text in response.headers
        }
    if response.schema is not None:
        out["content"] = {response.media: {"schema": response.schema}}
    return out


# -- OpenAPI 3.1 -> 3.0 ------------------------------------------------------------------------

_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_SCHEMA_VALUES = ("items", "not", "additionalProperties")
_NULL = {"type": "null"}


def downgrade_to_30(doc: dict[str, Any]) -> dict[str, Any]:
    """The same document in OpenAPI 3.0: `nullable` instead of null types, `enum` for `const`,
    `example` for `examples`, boolean exclusive bounds, `$ref` siblings moved into `allOf`."""
    out = copy.deepcopy(doc)
    out["openapi"] = "3.0.3"
    out["info"].get("license", {}).pop("identifier", None)
    components = out.get("components", {})
    components["schemas"] = {k: _schema30(v) for k, v in components.get("schemas", {}).items()}
    for item in out.get("paths", {}).values():
        for op in item.values():
            for param in op.get("parameters", []):
                param["schema"] = _schema30(param["schema"])
            for media in op.get("requestBody", {}).get("content", {}).values():
                media["schema"] = _schema30(media["schema"])
            for response in op.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    media["schema"] = _schema30(media["schema"])
                for header in response.get("headers", {}).values():
                    header["schema"] = _schema30(header["schema"])
    return out


def _schema30(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {name: _schema30(sub) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS:
            out[key] = [_schema30(sub) for sub in value]
        elif key in _SCHEMA_VALUES:
            out[key] = _schema30(value)
        elif key == "type" and isinstance(value, list):
            kinds = [kind for kind in value if kind != "null"]
            if len(kinds) == 1:
                out["type"] = kinds[0]
            else:
                out["anyOf"] = [{"type": kind} for kind in kinds]
            if len(kinds) < len(value):
                out["nullable"] = True
        elif key == "const":
            out["enum"] = [value]
        elif key == "examples":
            out["example"] = value[0]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        else:
            out[key] = value
    for key in ("anyOf", "oneOf"):
        if _NULL in out.get(key, []):
            out = _nullable_alternatives(out, key)
    if "$ref" in out and len(out) > 1:
        out = {"allOf": [{"$ref": out.pop("$ref")}], **out}
    return out


def _nullable_alternatives(schema: dict[str, Any], key: str) -> dict[str, Any]:
    """`anyOf: [X, {type: null}]` becomes X with `nullable: true` (a `$ref` X goes in allOf)."""
    rest = [sub for sub in schema.pop(key) if sub != _NULL]
    if len(rest) == 1 and "$ref" in rest[0]:
        return {"allOf": rest, **schema, "nullable": True}
    if len(rest) == 1:
        return {**rest[0], **schema, "nullable": True}
    return {key: rest, **schema, "nullable": True}


# -- serialization -----------------------------------------------------------------------------


def to_json(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


_PLAIN = re.compile(r"[A-Za-z_/$][^:#]*")
_RESERVED = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"})
_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def to_yaml(doc: Any) -> str:
    """Block-style YAML with keys in insertion order; strings are quoted whenever a YAML 1.1
    reader (PyYAML included) could read them as anything but the same string."""
    if _is_block(doc):
        return "\n".join(_block(doc, 0)) + "\n"
    return _scalar(doc, 0) + "\n"


def _is_block(value: Any) -> bool:
    return isinstance(value, dict | list) and bool(value)


def _block(value: dict[str, Any] | list[Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, sub in value.items():
            name = _string(str(key), indent, key=True)
            if _is_block(sub):
                lines.append(f"{pad}{name}:")
                lines += _block(sub, indent + 2)
            else:
                lines.append(f"{pad}{name}: {_scalar(sub, indent + 2)}")
        return lines
    for item in value:
        if _is_block(item):
            inner = _block(item, indent + 2)
            lines.append(f"{pad}- {inner[0][indent + 2 :]}")
            lines += inner[1:]
        else:
            lines.append(f"{pad}- {_scalar(item, indent + 2)}")
    return lines


def _scalar(value: Any, indent: int) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        # YAML 1.1 floats need a dot: 1e-05 would read back as a string.
        return text.replace("e", ".0e", 1) if "e" in text and "." not in text else text
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    return _string(str(value), indent)


def _string(text: str, indent: int, *, key: bool = False) -> str:
    if (
        _PLAIN.fullmatch(text)
        and text == text.strip()
        and text.lower() not in _RESERVED
        and all(_printable(ch) and ch not in "\t\n" for ch in text)
    ):
        return text
    if not key and _literal_ok(text):
        pad = " " * indent
        return "|-\n" + "\n".join(pad + line if line else "" for line in text.split("\n"))
    return '"' + "".join(_escape(ch) for ch in text) + '"'


def _literal_ok(text: str) -> bool:
    lines = text.split("\n")
    return (
        len(lines) > 1
        and bool(lines[0])
        and bool(lines[-1])
        and not lines[0].startswith(" ")
        and all(line == line.rstrip() for line in lines)
        and all(_printable(ch) and ch not in "\t\r" for ch in text.replace("\n", ""))
    )


def _printable(ch: str) -> bool:
    """YAML's printable set, minus the characters some readers take as line breaks."""
    code = ord(ch)
    return (
        code in (0x09, 0x0A)
        or 0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        and code not in (0x2028, 0x2029)
        or 0xE000 <= code <= 0xFFFD
        and code != 0xFEFF
        or 0x10000 <= code <= 0x10FFFF
    )


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if _printable(ch):
        return ch
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


# -- the committed documents -------------------------------------------------------------------


def render_documents(app: Any) -> dict[str, str]:
    """Every served document by file name; the COMMITTED ones are kept in docs/api/."""
    modern = build_modern(app)
    return {
        "openapi.yaml": to_yaml(modern),
        "openapi-3.0.yaml": to_yaml(downgrade_to_30(modern)),
        "openapi.json": to_json(modern),
        "legacy-docs.json": to_json(build_legacy(app)),
    }


def reference_app() -> Any:
    """The app as every deployment builds it; its database is never opened."""
    from conbench.app import create_app
    from conbench.config import Settings

    class NoDatabase:
        def open(self) -> None:
            raise AssertionError("documents are generated without a database")

        close = open
        connection = open

    settings = Settings.from_env({"CONBENCH_DB_URL": "postgresql://localhost/conbench"})
    return create_app(settings, NoDatabase())


def write_documents(directory: Path = DOCS_API_DIR) -> list[Path]:
    """Rewrite the committed documents; returns the files written."""
    documents = render_documents(reference_app())
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in COMMITTED:
        target = directory / name
        target.write_text(documents[name], encoding="utf-8")
        written.append(target)
    return written


def main() -> int:
    for path in write_documents():
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
