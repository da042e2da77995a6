// The API reference: renders an OpenAPI document (3.0 or 3.1) with no dependencies.
// /docs reads the modern document, /api/docs and /api/redoc the legacy one.

const LEGACY = location.pathname.startsWith("/api/");
const SPEC_URL = LEGACY ? "/api/docs.json" : "/openapi.json";
const DOWNLOADS = LEGACY
  ? [["OpenAPI 3.0 JSON", "/api/docs.json"]]
  : [["OpenAPI 3.1 YAML", "/openapi.yaml"], ["3.1 JSON", "/openapi.json"], ["3.0 YAML", "/openapi-3.0.yaml"]];
const METHODS = ["get", "put", "post", "delete", "patch"];
const AUTH = {
  public: "No credential needed.",
  write: "Any writer: a user API token, the operator token, or a session cookie.",
  user: "A user: a user API token or a session cookie (the operator token is refused).",
  session: "A session cookie only.",
};

// Children may nest arrays and contain null/false (skipped).
function nodes(children) {
  return children.flat(Infinity).filter((child) => child !== undefined && child !== null && child !== false);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  node.append(...nodes(children));
  return node;
}

// Text with `code` spans, the only markup the documents use.
function rich(text) {
  return String(text || "").split("`").map((part, i) => (i % 2 ? el("code", {}, part) : part));
}

function slug(text) {
  return String(text).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

function refName(ref) {
  return ref.split("/").pop();
}

function refLink(ref) {
  const name = refName(ref);
  return el("a", { href: `#schema-${name}`, class: "ref" }, name);
}

function join(parts, separator) {
  return parts.flatMap((part, i) => (i ? [separator, part] : [part]));
}

function constraints(schema) {
  const notes = [];
  const { minimum: min, maximum: max } = schema;
  // 3.1 writes an exclusive bound as a number, 3.0 as `true` beside minimum.
  const exclusive = typeof schema.exclusiveMinimum === "number" ? schema.exclusiveMinimum
    : schema.exclusiveMinimum === true ? min : undefined;
  if (exclusive !== undefined) notes.push(`> ${exclusive}`);
  else if (min !== undefined && max !== undefined) notes.push(`${min}..${max}`);
  else if (min !== undefined) notes.push(`≥ ${min}`);
  else if (max !== undefined) notes.push(`≤ ${max}`);
  if (schema.minLength !== undefined || schema.maxLength !== undefined) {
    notes.push(`length ${schema.minLength ?? 0}..${schema.maxLength ?? "∞"}`);
  }
  if (schema.maxItems !== undefined) notes.push(`at most ${schema.maxItems} items`);
  if (schema.pattern) notes.push(`pattern ${schema.pattern}`);
  if (schema.default !== undefined) notes.push(`default ${JSON.stringify(schema.default)}`);
  if (schema.additionalProperties === false) notes.push("no other keys");
  return notes.length ? el("span", { class: "muted" }, ` (${notes.join(", ")})`) : null;
}

function typed(schema) {
  return ["$ref", "type", "enum", "const", "properties", "items", "allOf"].some((key) => key in schema);
}

// A one-line type: `string (date-time) | null`, `array of Result`, `"a" | "b"`.
function typeLabel(schema) {
  if (!schema || typeof schema !== "object") return ["any"];
  if (schema.$ref) return [refLink(schema.$ref)];
  // oneOf/anyOf entries without a type are rules (e.g. "one of these keys is required").
  const alternatives = (schema.oneOf || schema.anyOf || []).filter(typed);
  let parts;
  if (schema.enum) parts = schema.enum.map((v) => JSON.stringify(v));
  else if (schema.const !== undefined) parts = [JSON.stringify(schema.const)];
  else if (schema.allOf) parts = [join(schema.allOf.map(typeLabel), " & ")];
  else if (alternatives.length && !schema.type) parts = alternatives.map(typeLabel);
  else {
    const types = [].concat(schema.type || (schema.properties ? "object" : "any"));
    parts = types.map((type) => {
      if (type === "array") return ["array of ", typeLabel(schema.items)];
      if (type === "object" && schema.additionalProperties && typeof schema.additionalProperties === "object"
          && !Object.keys(schema.properties || {}).length) {
        return ["object of ", typeLabel(schema.additionalProperties)];
      }
      return schema.format && type !== "null" ? `${type} (${schema.format})` : type;
    });
  }
  if (schema.nullable) parts.push("null");
  return join(parts, " | ");
}

// Inline sub-schemas worth expanding under a property: objects with properties, arrays of them.
function expandable(schema) {
  if (!schema || schema.$ref) return [];
  if (schema.properties && Object.keys(schema.properties).length) return [schema];
  if (schema.items) return expandable(schema.items);
  return [...(schema.allOf || []), ...(schema.oneOf || []), ...(schema.anyOf || [])].filter(typed).flatMap(expandable);
}

function tree(schema) {
  const required = new Set(schema.required || []);
  const list = el("ul", { class: "props" });
  for (const [name, sub] of Object.entries(schema.properties || {})) {
    list.append(el("li", {},
      el("code", { class: "prop" }, name),
      required.has(name) ? el("span", { class: "req", title: "required" }, "*") : null,
      " ", el("span", { class: "type" }, typeLabel(sub)), constraints(sub),
      sub.description ? el("span", { class: "desc" }, " — ", rich(sub.description)) : null,
      expandable(sub).map(tree)));
  }
  return list;
}

// A request or response schema: its type line and, when `expand`, the properties of the object
// it names (error bodies stay one line: their shape is the same everywhere).
function schemaBlock(schema, components, expand = true) {
  const target = !expand ? null : schema.$ref ? components[refName(schema.$ref)] : schema;
  const alternatives = (schema.oneOf || schema.anyOf || []).filter((s) => s.$ref);
  return el("div", { class: "schema" },
    el("div", { class: "type" }, typeLabel(schema), constraints(schema)),
    target && target.description && schema.$ref ? el("p", { class: "desc" }, rich(target.description)) : null,
    target ? expandable(target).map(tree) : null,
    alternatives.length > 1
      ? el("p", { class: "muted" }, "One of: ", join(alternatives.map((s) => refLink(s.$ref)), ", "))
      : null);
}

function parametersTable(params) {
  return el("table", { class: "params" },
    el("thead", {}, el("tr", {}, ["Name", "In", "Type", "Description"].map((h) => el("th", {}, h)))),
    el("tbody", {}, params.map((p) => el("tr", {},
      el("td", {}, el("code", {}, p.name), p.required ? el("span", { class: "req", title: "required" }, "*") : null),
      el("td", {}, p.in),
      el("td", {}, typeLabel(p.schema), constraints(p.schema || {})),
      el("td", {}, rich(p.description))))));
}

function operation(method, path, op, components) {
  const id = op.operationId || slug(`${method} ${path}`);
  const body = op.requestBody && Object.entries(op.requestBody.content || {})[0];
  return el("section", { class: "op", id },
    el("div", { class: "op-head" },
      el("span", { class: `method ${method}` }, method.toUpperCase()),
      el("code", { class: "path" }, path),
      op["x-auth"] ? el("span", { class: `auth ${op["x-auth"]}`, title: AUTH[op["x-auth"]] }, op["x-auth"]) : null,
      el("a", { class: "anchor", href: `#${id}`, "aria-label": "link to this operation" }, "#")),
    el("h3", {}, rich(op.summary || "")),
    op.deprecated ? el("p", { class: "warn" }, "Deprecated.") : null,
    op.description ? el("p", {}, rich(op.description)) : null,
    op.parameters && op.parameters.length ? [el("h4", {}, "Parameters"), parametersTable(op.parameters)] : null,
    body ? [el("h4", {}, "Request body ", el("span", { class: "muted" }, body[0])), schemaBlock(body[1].schema, components)] : null,
    el("h4", {}, "Responses"),
    el("dl", { class: "responses" }, Object.entries(op.responses || {}).map(([status, response]) => {
      const media = Object.entries(response.content || {})[0];
      return [
        el("dt", {}, el("span", { class: `status s${status[0]}` }, status)),
        el("dd", {},
          el("p", {}, rich(response.description), media ? el("span", { class: "muted" }, ` — ${media[0]}`) : null),
          Object.entries(response.headers || {}).map(([name, header]) =>
            el("p", { class: "header" }, "Header ", el("code", {}, name), ": ", rich(header.description))),
          media && media[1].schema ? schemaBlock(media[1].schema, components, status.startsWith("2")) : null),
      ];
    })));
}

function render(spec) {
  const components = (spec.components && spec.components.schemas) || {};
  const groups = new Map((spec.tags || []).map((tag) => [tag.name, { tag, ops: [] }]));
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const name = (op.tags && op.tags[0]) || "Other";
      if (!groups.has(name)) groups.set(name, { tag: { name }, ops: [] });
      groups.get(name).ops.push([method, path, op]);
    }
  }
  const levels = new Set([...groups.values()].flatMap(({ ops }) => ops.map(([, , op]) => op["x-auth"])));
  document.title = `${spec.info.title} reference`;
  document.querySelectorAll("[data-surface]").forEach((a) => {
    if ((a.dataset.surface === "legacy") === LEGACY) a.setAttribute("aria-current", "page");
  });

  const toc = [...groups.values()].map(({ tag, ops }) => el("div", {},
    el("a", { class: "toc-tag", href: `#tag-${slug(tag.name)}` }, tag.name),
    el("ul", {}, ops.map(([method, path, op]) => el("li", {},
      el("a", { href: `#${op.operationId || slug(`${method} ${path}`)}` },
        el("span", { class: `method small ${method}` }, method.toUpperCase()), " ", path))))));
  document.getElementById("toc").replaceChildren(
    ...nodes([toc, el("a", { class: "toc-tag", href: "#schemas" }, "Schemas")]));

  const doc = document.getElementById("doc");
  doc.replaceChildren(...nodes([
    el("h1", {}, spec.info.title, " ", el("span", { class: "version" }, spec.info.version),
      " ", el("span", { class: "version" }, `OpenAPI ${spec.openapi}`)),
    el("p", { class: "lead" }, rich(spec.info.description)),
    el("p", { class: "downloads" }, "Download: ", join(DOWNLOADS.map(([label, href]) => el("a", { href }, label)), " · ")),
    el("dl", { class: "legend" }, Object.entries(AUTH).filter(([level]) => levels.has(level)).map(([level, text]) =>
      [el("dt", {}, el("span", { class: `auth ${level}` }, level)), el("dd", {}, text)])),
    [...groups.values()].map(({ tag, ops }) => el("section", { class: "tag", id: `tag-${slug(tag.name)}` },
      el("h2", {}, tag.name),
      tag.description ? el("p", { class: "muted" }, rich(tag.description)) : null,
      ops.map(([method, path, op]) => operation(method, path, op, components)))),
    el("section", { class: "tag", id: "schemas" },
      el("h2", {}, "Schemas"),
      Object.entries(components).map(([name, schema]) => el("section", { class: "model", id: `schema-${name}` },
        el("h3", {}, name, " ", el("a", { class: "anchor", href: `#schema-${name}` }, "#")),
        schema.description ? el("p", {}, rich(schema.description)) : null,
        el("div", { class: "type" }, typeLabel({ ...schema, description: undefined }), constraints(schema)),
        expandable(schema).map(tree))))]));
  if (location.hash) document.getElementById(decodeURIComponent(location.hash.slice(1)))?.scrollIntoView();
}

async function main() {
  try {
    const response = await fetch(SPEC_URL, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
  } catch (error) {
    document.getElementById("doc").replaceChildren(
      el("p", { class: "warn" }, `Could not load ${SPEC_URL}: ${error.message}`));
  }
}

main();
