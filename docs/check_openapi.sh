#!/usr/bin/env bash
# Validates docs/openapi.yaml against the OpenAPI 3.0 schema with openapi-spec-validator
# (PyPI), installing it for the current user when it is missing. Exit status: 0 when the
# document is valid, 1 when it is not, 2 when the validator cannot be installed.
# The route coverage of the document is checked by `swift test --filter RoutesTests`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import openapi_spec_validator' 2>/dev/null; then
    echo "check_openapi: installing openapi-spec-validator" >&2
    python3 -m pip install --quiet --user openapi-spec-validator >&2 \
        || python3 -m pip install --quiet --user --break-system-packages openapi-spec-validator >&2 \
        || { echo "check_openapi: cannot install openapi-spec-validator" >&2; exit 2; }
fi

python3 -m openapi_spec_validator docs/openapi.yaml

# What the validator does not check: every local $ref resolves, and the project's conventions
# (Idempotency-Key on writes, X-Consistency-Token on write responses and query reads).
python3 - docs/openapi.yaml <<'PY'
import sys, yaml

doc = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))
problems = []

def resolve(ref):
    node = doc
    for part in ref.lstrip("#/").split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node

def walk(node, where):
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/") and resolve(ref) is None:
            problems.append(f"{where}: unresolved $ref {ref}")
        for key, value in node.items():
            walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            walk(value, f"{where}[{i}]")

walk(doc, "#")

def deref(node):
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(node["$ref"]) or {}
    return node

for path, item in doc["paths"].items():
    shared = [deref(p) for p in item.get("parameters", [])]
    for method, op in item.items():
        if method not in ("get", "put", "post", "delete", "patch"):
            continue
        params = shared + [deref(p) for p in op.get("parameters", [])]
        headers = {p.get("name") for p in params if p.get("in") == "header"}
        where = f"{method.upper()} {path}"
        public = op.get("security") == []
        if method in ("put", "post", "delete") and not public:
            if "Idempotency-Key" not in headers:
                problems.append(f"{where}: no Idempotency-Key header parameter")
            ok = deref(next((op["responses"][c] for c in ("200", "201", "202") if c in op["responses"]), {}))
            if "X-Consistency-Token" not in ok.get("headers", {}):
                problems.append(f"{where}: 200 response without X-Consistency-Token header")
        if method == "get" and "query" in op.get("tags", []) and "X-Consistency-Token" not in headers:
            problems.append(f"{where}: query read without X-Consistency-Token header parameter")
        if not public and "401" not in op["responses"]:
            problems.append(f"{where}: authenticated operation without a 401 response")

for p in problems:
    print("check_openapi:", p, file=sys.stderr)
if problems:
    sys.exit(1)
print("docs/openapi.yaml: references and conventions OK")
PY
