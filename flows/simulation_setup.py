"""What one API's dialogues run against (used by ``flows.simulate_corpus``): the function list the
assistant sees, the tool definitions (``tools`` mode) and the executor — simulated or, with
``executor_mode: real``, the API's own server (its MCP server, for an API imported from one). A multi-API dialogue sees the combined, prefixed
spec of the API and its partner, and a ``PrefixRouter`` hands each call to that API's executor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flows.contexts import shown_context
from flows.settings import Settings
from schemas.records import FunctionDoc, FunctionEdge, ToolContext
from schemas.views import DocumentedApi
from tasks.documentation.nl_docs import derive_functions
from tasks.guards.address_guard import allowed_pairs
from tasks.guards.guarded_mcp import McpGuard
from tasks.llm.backend import LLMClient
from tasks.prompts import load_prompt
from tasks.simulation.assistant import assistant_prompt_name
from tasks.simulation.chain_plan import cross_edges, edge_records
from tasks.simulation.executor import Executor, PrefixRouter, SimulatedExecutor
from tasks.simulation.function_graph import Edge, graph
from tasks.simulation.mcp_executor import McpExecutor, mcp_server_of
from tasks.simulation.multi_api import combine
from tasks.simulation.real_executor import RealExecutor, RealExecutorConfig
from tasks.simulation.tool_calling import tool_definitions
from tasks.simulation.toolset_slice import ToolsetSlicer


def real_executor_config(settings: Settings) -> RealExecutorConfig:
    """The real executor's limits from the flat settings (``real_auth_env``: ``Header=VAR,…``)."""
    auth = {}
    for item in filter(None, (x.strip() for x in (settings.real_auth_env or "").split(","))):
        header, _, variable = item.partition("=")
        if header.strip() and variable.strip():
            auth[header.strip()] = variable.strip()
    hosts = [h.strip() for h in (settings.real_allowed_hosts or "").split(",") if h.strip()]
    return RealExecutorConfig(allowed_hosts=hosts, allow_private=settings.real_allow_private, timeout_s=settings.real_timeout_s,
                              max_response_bytes=settings.real_max_response_bytes, auth_env=auth)


def mcp_server_log(settings: Settings) -> str:
    """The file stdio MCP servers' stderr is appended to: ``<log_dir>/mcp-servers.log`` (its folder made)."""
    folder = Path(settings.log_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / "mcp-servers.log")


def mcp_guard(settings: Settings) -> McpGuard:
    """The guard of the MCP servers the real executor calls: the configured stdio commands (``;``-separated
    command lines), the real executor's host allow-list, private addresses, timeout, size cap and server log."""
    hosts = [h.strip() for h in (settings.real_allowed_hosts or "").split(",") if h.strip()]
    commands = [c.strip() for c in (settings.mcp_stdio_commands or "").split(";") if c.strip()]
    return McpGuard(commands, allowed_pairs(hosts) if hosts else set(), settings.real_allow_private, settings.real_timeout_s,
                    settings.real_max_response_bytes, mcp_server_log(settings))


@dataclass
class Setup:
    """What one kind of dialogue of an API runs against; ``context`` is its record (what the assistant is shown)."""

    executor: Executor
    tools: list[dict[str, Any]] | None
    context: ToolContext

    @property
    def functions_doc(self) -> str:
        return self.context.nl_documentation

    @property
    def names(self) -> list[str]:
        return self.context.function_names


class ApiSetups:
    """The setups of one API's dialogues: its own, a large API's slices, and one per partner it is paired with
    (sliced like a single API when the two together are large). Each API's executor is made once and shared
    (its response cache spans its dialogues); each setup's tool context is made once."""

    def __init__(self, doc: DocumentedApi, client: LLMClient, settings: Settings, step_mode: str):
        self.doc, self.client, self.settings, self.step_mode = doc, client, settings, step_mode
        self.prompt_version = load_prompt(assistant_prompt_name(step_mode)).version
        self._executors: dict[str, Executor] = {}
        self._functions: dict[str, list[FunctionDoc]] = {}
        self._pairs: dict[tuple[str, tuple[str, ...]], Setup] = {}
        self._combined: dict[str, tuple[dict[str, Any], list[str]]] = {}
        self._pair_slicers: dict[str, ToolsetSlicer] = {}
        self._slices: dict[tuple[str, ...], Setup] = {}
        self._edges: list[Edge] | None = None
        self.slicer = ToolsetSlicer(doc.spec, settings.toolset_slice_max, settings.toolset_slice_max_chars)
        self.single = Setup(self.executor_for(doc), self.tools_of(doc.spec),
                            shown_context([doc], (), doc.spec, step_mode, self.prompt_version, self.functions_of(doc),
                                          doc.nl_documentation))

    def tools_of(self, spec: Any) -> list[dict[str, Any]] | None:
        """The function definitions the step mode needs: ``tools`` sends them, ``json`` builds each call's
        argument schema from them; ``react`` needs none."""
        return tool_definitions(spec) if self.step_mode in ("tools", "json") else None

    def functions_of(self, doc: DocumentedApi) -> list[FunctionDoc]:
        if doc.doc_id not in self._functions:
            self._functions[doc.doc_id] = derive_functions(doc.spec)
        return self._functions[doc.doc_id]

    def executor_for(self, doc: DocumentedApi) -> Executor:
        if doc.doc_id not in self._executors:
            s = self.settings
            if s.executor_mode == "real" and mcp_server_of(doc.spec) is not None:
                self._executors[doc.doc_id] = McpExecutor(doc.spec, mcp_guard(s), max_chars=s.observation_max_chars)
            elif s.executor_mode == "real":
                self._executors[doc.doc_id] = RealExecutor(doc.spec, real_executor_config(s), max_chars=s.observation_max_chars)
            else:
                self._executors[doc.doc_id] = SimulatedExecutor(
                    doc.spec, self.client, api_name=doc.name, max_chars=s.observation_max_chars,
                    max_tokens=s.executor_max_tokens, subject_id=doc.api_id,
                    nl_docs={f.name: f.nl_doc for f in self.functions_of(doc)}, share_responses=s.executor_share_responses)
        return self._executors[doc.doc_id]

    def combined_with(self, partner: DocumentedApi) -> tuple[dict[str, Any], list[str]]:
        """The combined, prefixed spec of the API and its partner, and the two prefixes (made once)."""
        if partner.doc_id not in self._combined:
            spec, _, prefixes = combine([self.doc, partner])
            self._combined[partner.doc_id] = spec, prefixes
        return self._combined[partner.doc_id]

    def pair_slicer(self, partner: DocumentedApi) -> tuple[ToolsetSlicer, list[str]]:
        """The slicer of the API and its partner combined (bounded by ``toolset_slice_max`` like one API), and the prefixes."""
        spec, prefixes = self.combined_with(partner)
        if partner.doc_id not in self._pair_slicers:
            self._pair_slicers[partner.doc_id] = ToolsetSlicer(spec, self.settings.toolset_slice_max,
                                                               self.settings.toolset_slice_max_chars)
        return self._pair_slicers[partner.doc_id], prefixes

    def paired_with(self, partner: DocumentedApi, targets: list[str] | tuple[str, ...] = ()) -> tuple[Setup, tuple[str, ...]]:
        """The setup of a multi-API dialogue and the slice's names (() when the two together are not large). A large
        pair shows the instruction's targets and their neighbours; one without targets (written before pairs were
        sliced) the first window across both APIs."""
        spec, prefixes = self.combined_with(partner)
        slicer, _ = self.pair_slicer(partner)
        names: tuple[str, ...] = ()
        if slicer.large:
            names = tuple(slicer.slice_for(list(targets))) or tuple(slicer.slice_for(slicer.targets_across(prefixes, 0)))
        key = (partner.doc_id, names)
        if key not in self._pairs:
            shown = slicer.spec_for(list(names)) if names else spec
            router = PrefixRouter({prefixes[0]: self.executor_for(self.doc), prefixes[1]: self.executor_for(partner)},
                                  spec=spec, max_chars=self.settings.observation_max_chars)
            self._pairs[key] = Setup(router, self.tools_of(shown),
                                     shown_context([self.doc, partner], names, shown, self.step_mode, self.prompt_version))
        return self._pairs[key], names

    def edges(self) -> list[Edge]:
        """The API's function graph (``tasks.simulation.function_graph``), built once."""
        if self._edges is None:
            self._edges = graph(self.doc.spec)
        return self._edges

    def edge_records(self, partner: DocumentedApi | None) -> list[FunctionEdge]:
        """What the warehouse keeps of the graph: the API's own edges, and those between it and its
        multi-API partner (named as those dialogues name functions)."""
        out = edge_records(self.doc.doc_id, self.doc.api_id, self.edges())
        if partner is not None:
            spec, prefixes = self.combined_with(partner)
            out += edge_records(self.doc.doc_id, self.doc.api_id, cross_edges(spec, prefixes), partner.doc_id)
        return out

    def sliced(self, targets: list[str]) -> tuple[Setup, tuple[str, ...]]:
        """The setup showing a large API's slice for these target operations, and the slice's names;
        the API's own setup and () when the API is not large or there are no targets."""
        names = tuple(self.slicer.slice_for(targets)) if targets and self.slicer.large else ()
        if not names:
            return self.single, ()
        if names not in self._slices:
            spec = self.slicer.spec_for(list(names))
            self._slices[names] = Setup(self.executor_for(self.doc), self.tools_of(spec),
                                        shown_context([self.doc], names, spec, self.step_mode, self.prompt_version))
        return self._slices[names], names

    def close(self) -> None:
        for executor in self._executors.values():
            close = getattr(executor, "close", None)
            if close is not None:
                close()
