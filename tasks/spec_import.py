"""Turn existing OpenAPI documents into documented-API records without the LLM. External ``$ref``s
are bundled into ``components`` so each spec is self-contained.

In: the spec's path (for naming and resolving relative refs) and a loader that reads a document
(``flows`` does the file I/O and confines it: a loader raises ``DocumentRefused`` for what it will
not read, and the document is then refused under that rule). Out: ``SpecImport`` — a catalog entry, an ApiDoc (valid or invalid
with its problems), the functions of a valid spec, or a Rejection when the file cannot be used.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from schemas.ids import content_id
from schemas.records import ApiDoc, CatalogEntry, FunctionDoc, LintIssue, Rejection
from tasks.catalog import api_id_for, http_link
from tasks.documents import DocumentRefused, Limits, check_shape
from tasks.nl_docs import derive_functions, function_records, nl_documentation
from tasks.openapi_refs import bundle_external_refs
from tasks.spec_lint import lint_spec

IMPORT_VERSION = "import:1"


@dataclass
class SpecImport:
    source: str
    entry: CatalogEntry | None = None
    doc: ApiDoc | None = None
    functions: list[FunctionDoc] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)

    def records(self) -> list[Any]:
        return [r for r in [self.entry, self.doc] if r is not None] + self.functions + self.rejections


Loader = Callable[[Path], Any]


def import_spec(path: Path, loader: Loader, category: str | None = None, *, name: str | None = None,
                link: str | None = None, description: str | None = None, stage: str = "spec_import",
                limits: Limits = Limits()) -> SpecImport:
    """Load (through ``loader``), bundle, lint and convert one spec; problems become a Rejection,
    never an exception; ``limits`` cap the document and what its refs bundle. ``name``/``link``/``description`` override what the spec says (a catalog
    that ships specs knows its APIs better)."""
    out = SpecImport(source=str(path))

    def reject(reason: str, detail: str) -> SpecImport:
        out.rejections.append(Rejection(content_id("rejection", stage, str(path), reason), stage, path.name, reason, detail[:2000]))
        return out

    try:
        spec = loader(path)
        check_shape(spec, path.name, limits)
        if not isinstance(spec, dict) or not ("openapi" in spec or "swagger" in spec):
            return reject("not_openapi", f"{path.name} has no top-level 'openapi' field")
        spec, problems = bundle_external_refs(spec, path, loader, limits.max_nodes)
    except DocumentRefused as exc:
        return reject(exc.rule, f"{path.name}: {exc.detail}" if not exc.detail.startswith(path.name) else exc.detail)
    except (OSError, UnicodeDecodeError) as exc:
        return reject("unreadable", f"cannot read {path.name}: {getattr(exc, 'strerror', None) or exc}")
    except (json.JSONDecodeError, yaml.YAMLError, ValueError) as exc:
        return reject("unparsable", f"{path.name} is not valid JSON/YAML: {str(exc).splitlines()[0]}")
    info = spec.get("info") if isinstance(spec.get("info"), dict) else {}
    name = name or " ".join(str(info.get("title") or path.stem).split())[:200] or path.stem
    servers = spec.get("servers") if isinstance(spec.get("servers"), list) else []
    if link is None:
        link = str(servers[0].get("url", "")) if servers and isinstance(servers[0], dict) else ""
    link = http_link(link)
    description = description or " ".join(str(info.get("description") or info.get("summary") or name).split())[:2000]
    cat = category or str(spec.get("x-category") or info.get("x-category") or "Imported")
    api_id = api_id_for(name, link)
    out.entry = CatalogEntry(api_id=api_id, name=name, description=description, category=cat, link=link,
                             auth="unknown", https=link.startswith("https://") if link else None, cors=None,
                             source=path.name, locator="spec")
    issues = lint_spec(spec)
    issues = [LintIssue("ref_unresolved", "$ref", p) for p in problems] + issues
    doc_id = content_id("doc-import", api_id, json.dumps(spec, sort_keys=True, default=str), IMPORT_VERSION)
    functions = derive_functions(spec) if not issues else []
    status = "valid" if not issues else "invalid"
    out.doc = ApiDoc(
        doc_id=doc_id, api_id=api_id, name=name, category=cat,
        introduction=description, function_list=[{"name": f.name, "description": f.description} for f in derive_functions(spec)],
        spec=spec, nl_documentation=nl_documentation(spec, functions) if functions else "", status=status,
        lint_errors=[i.to_dict() for i in issues], repair_rounds=0, origin="import", prompt_version=IMPORT_VERSION, model="none",
    )
    out.functions = function_records(doc_id, api_id, functions)
    if issues:
        reject("spec_invalid", f"{len(issues)} problem(s): " + "; ".join(str(i) for i in issues[:5]))
    return out
