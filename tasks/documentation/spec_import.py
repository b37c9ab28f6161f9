"""Turn published tool documents into documented-API records without the LLM — repair, don't refuse.

Formats (``detect_format``; a caller may force one): OpenAPI 3.0/3.1, Swagger 2.0 (converted by
``tasks.documentation.swagger2``), MCP ``tools/list`` results and OpenAI-style tool lists (``tasks.documentation.tool_lists``);
ToolAlpaca records come through ``tasks.formats.toolalpaca_format`` with their ``Function_Projection`` and
``Authentication``. External ``$ref``s are bundled into ``components``; ``tasks.documentation.spec_normalise``
repairs the document per operation. An API is usable (``status="valid"``) when at least one
operation is; what was repaired, assumed, warned of (our lint's findings, which gate LLM-written
documents, are warnings here) or dropped lands as ``ImportNote`` records.

In: the document's path and a loader that reads a document (``flows`` does the file I/O and confines
it; a loader raises ``DocumentRefused`` for what it will not read). Out: ``SpecImport``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from schemas.ids import content_id
from schemas.records import ApiDoc, CatalogEntry, FunctionDoc, ImportNote, Rejection
from tasks.catalog.entries import api_id_for, http_link
from tasks.documentation import swagger2, tool_lists
from tasks.documentation.nl_docs import derive_functions, function_records, nl_documentation
from tasks.documentation.openapi_refs import bundle_external_refs
from tasks.documentation.spec_lint import lint_spec
from tasks.documentation.spec_normalise import Normalised, Note, normalise
from tasks.guards.documents import DocumentRefused, Limits, check_shape
from tasks.guards.guarded_mcp import MCP_EXTENSION

IMPORT_VERSION = "import:2"
MAX_NOTES_PER_CODE = 50


@dataclass
class SpecImport:
    source: str
    source_format: str = ""
    entry: CatalogEntry | None = None
    doc: ApiDoc | None = None
    functions: list[FunctionDoc] = field(default_factory=list)
    notes: list[ImportNote] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    def records(self) -> list[Any]:
        return [r for r in [self.entry, self.doc] if r is not None] + self.functions + self.notes + self.rejections

    def counts(self) -> dict[str, int]:
        """Operations kept and dropped, repairs, assumptions and warnings of this document."""
        kinds = [n.kind for n in self.notes]
        return {"kept": len(self.functions), "dropped": kinds.count("dropped"), "repairs": kinds.count("repair"),
                "assumptions": kinds.count("assumption"), "warnings": kinds.count("warning")}


Loader = Callable[[Path], Any]


def detect_format(doc: Any) -> str | None:
    """``openapi3``, ``swagger2``, ``mcp``, ``openai_tools``, ``toolalpaca`` or None."""
    if isinstance(doc, dict) and str(doc.get("openapi", "")).startswith("3"):
        return "openapi3"
    if swagger2.is_swagger2(doc):
        return "swagger2"
    if isinstance(doc, list) and doc and all(isinstance(r, dict) and "Documentation" in r for r in doc):
        return "toolalpaca"
    return tool_lists.detect(doc)


def as_openapi(doc: Any, fmt: str, title: str) -> tuple[dict[str, Any], list[Note]]:
    """The OpenAPI 3 form of a document in ``fmt`` (not toolalpaca, which holds several APIs)."""
    if fmt == "swagger2":
        spec, notes = swagger2.convert(doc)
        return spec, [Note("assumption", "swagger2_converted", "", n) for n in notes]
    if fmt in ("mcp", "openai_tools"):
        converted = tool_lists.to_openapi(doc, title)
        if converted is None:
            raise DocumentRefused("not_a_tool_list", f"{title}: not an MCP or OpenAI tool list")
        return converted[0], [Note("repair", "tool_renamed", "", n) for n in converted[1]]
    return doc, []


def _mcp_server_noted(spec: dict[str, Any], server: dict[str, str] | None) -> list[Note]:
    """Set the spec's MCP server to ``server`` (or none); a note when the document named one of its own."""
    named = spec.pop(MCP_EXTENSION, None) if isinstance(spec, dict) else None
    if isinstance(spec, dict) and server is not None:
        spec[MCP_EXTENSION] = dict(server)
    if named is None or (server is not None and named == server):
        return []
    return [Note("warning", "mcp_server_dropped", "", f"the document names an MCP server of its own ({str(named)[:200]}): dropped; "
                 "import from the server itself with `toolfactory docs import --mcp` / `--mcp-url`")]


def import_spec(path: Path, loader: Loader, category: str | None = None, *, name: str | None = None,
                link: str | None = None, description: str | None = None, stage: str = "spec_import",
                limits: Limits = Limits(), fmt: str | None = None, projection: dict[str, Any] | None = None,
                auth_names: list[str] | None = None, source_format: str | None = None,
                mcp_server: dict[str, str] | None = None, api_id: str | None = None, source: str | None = None) -> SpecImport:
    """Load (through ``loader``), convert, bundle, normalise and lint one document; a document that
    cannot be used becomes a Rejection, never an exception. ``name``/``link``/``description``
    override what the document says (a catalog that ships specs knows its APIs better). ``mcp_server``:
    the MCP server the tool list was read from (``x-toolfactory-mcp``, what the real executor calls); a
    document that names a server itself has it dropped, with a warning — only an import from the server
    records one. ``api_id``: the API's ID when not the one its title and server give (``flows.import_identity``
    decides it, so two documents never become one API); ``source``: where the document is, as its doc records it
    (default: the file name)."""
    out = SpecImport(source=str(path))

    def reject(reason: str, detail: str) -> SpecImport:
        out.rejections.append(Rejection(content_id("rejection", stage, str(path), reason), stage, path.name, reason, detail[:2000]))
        return out

    try:
        raw = loader(path)
        check_shape(raw, path.name, limits)
        found = detect_format(raw)
        if fmt and found != fmt:
            return reject("format_mismatch", f"{path.name} is not {fmt} (it reads as {found or 'nothing known'})")
        if found is None or found == "toolalpaca":
            why = "a ToolAlpaca file: import it with `toolfactory import toolalpaca`" if found else \
                "not OpenAPI 3, Swagger 2.0, an MCP tools/list result or an OpenAI tool list"
            return reject("not_openapi", f"{path.name} is {why}")
        out.source_format = source_format or found
        spec, conversion = as_openapi(raw, found, path.stem)
        conversion += _mcp_server_noted(spec, mcp_server)
        spec, problems = bundle_external_refs(spec, path, loader, limits.max_nodes)
    except DocumentRefused as exc:
        return reject(exc.rule, f"{path.name}: {exc.detail}" if not exc.detail.startswith(path.name) else exc.detail)
    except (OSError, UnicodeDecodeError) as exc:
        return reject("unreadable", f"cannot read {path.name}: {getattr(exc, 'strerror', None) or exc}")
    except (json.JSONDecodeError, yaml.YAMLError, ValueError) as exc:
        return reject("unparsable", f"{path.name} is not valid JSON/YAML: {str(exc).splitlines()[0]}")
    result = normalise(spec, projection, auth_names)
    result.notes[:0] = conversion + [Note("warning", "ref_unresolved", "", p) for p in problems]
    _describe(out, result, path, category, name, link, description, api_id, source)
    if not out.functions:
        reject("no_usable_operation", f"{path.name}: no operation could be made callable ({result.dropped} dropped)")
    return out


def _describe(out: SpecImport, result: Normalised, path: Path, category: str | None, name: str | None, link: str | None,
              description: str | None, api_id: str | None = None, source: str | None = None) -> None:
    """The catalog entry, ApiDoc, functions and notes of a normalised document."""
    spec = result.spec
    info = spec.get("info") if isinstance(spec.get("info"), dict) else {}
    name = name or " ".join(str(info.get("title") or path.stem).split())[:200] or path.stem
    servers = spec.get("servers") if isinstance(spec.get("servers"), list) else []
    if link is None:
        link = str(servers[0].get("url", "")) if servers and isinstance(servers[0], dict) else ""
    link = http_link(link)
    description = description or " ".join(str(info.get("description") or info.get("summary") or name).split())[:2000]
    cat = category or str(spec.get("x-category") or info.get("x-category") or "Imported")
    api_id = api_id or api_id_for(name, link)
    auth = ",".join(sorted({a.kind for a in result.auth})) or "none"
    out.entry = CatalogEntry(api_id=api_id, name=name, description=description, category=cat, link=link, auth=auth,
                             https=link.startswith("https://") if link else None, cors=None, source=path.name, locator="spec")
    notes = result.notes + lint_warnings(spec)
    functions = derive_functions(spec)
    doc_id = content_id("doc-import", api_id, json.dumps(spec, sort_keys=True, default=str), IMPORT_VERSION)
    blocking = [] if functions else [{"code": "no_usable_operation", "where": "paths", "message": "no operation is callable"}]
    out.doc = ApiDoc(
        doc_id=doc_id, api_id=api_id, name=name, category=cat, introduction=description,
        function_list=[{"name": f.name, "description": f.description} for f in functions], spec=spec,
        nl_documentation=nl_documentation(spec, functions) if functions else "", status="valid" if functions else "invalid",
        lint_errors=blocking, repair_rounds=0, origin="import", prompt_version=IMPORT_VERSION, model="none", source=source or path.name,
    )
    out.functions = function_records(doc_id, api_id, functions)
    out.notes = [ImportNote(content_id("import-note", doc_id, i, n.code, n.where, n.detail), doc_id, api_id, path.name,
                            out.source_format, n.kind, n.code, n.where[:500], n.function[:200], n.detail[:1000])
                 for i, n in enumerate(notes)]


def lint_warnings(spec: dict[str, Any], validate: bool = False) -> list[Note]:
    """Our lint's findings on an imported document, as warnings: at most ``MAX_NOTES_PER_CODE`` per
    code, then one note with how many more. openapi-spec-validator runs only with ``validate``
    (``toolfactory docs check`` runs it; on import it would be most of the time)."""
    out: list[Note] = []
    per_code: dict[str, int] = {}
    for issue in lint_spec(spec, validate):
        if issue.code == "not_openapi_30":  # 3.1 is read as well as 3.0 here
            continue
        per_code[issue.code] = per_code.get(issue.code, 0) + 1
        if per_code[issue.code] <= MAX_NOTES_PER_CODE:
            out.append(Note("warning", issue.code, issue.where[:500], issue.message))
    out += [Note("warning", code, "", f"{n - MAX_NOTES_PER_CODE} more like this") for code, n in per_code.items() if n > MAX_NOTES_PER_CODE]
    return out
