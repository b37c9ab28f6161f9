"""OpenAI-compatible chat completions straight over aiohttp: the lean path for deployments that speak
OpenAI's protocol (OpenAI, vLLM, SGLang, llama.cpp's server, Ollama's ``/v1``, hosted OpenAI-compatible
providers).

A deployment is served here when ``fast_route`` says so: its litellm model string names an
OpenAI-protocol provider (``openai/…``, ``hosted_vllm/…``, ``lm_studio/…``, ``llamafile/…``; any
provider when the deployment says ``transport: fast``), it has an ``api_base`` (``openai/`` defaults
to OpenAI's), and its ``litellm_params`` hold nothing this path does not do itself. The config format
stays litellm's; every other deployment goes through litellm (``tasks.llm.transport``).

``FastTransport.send(route, messages, params)`` posts one request (one pooled ``aiohttp`` session per
base URL, ``orjson`` both ways) and returns the reply's JSON, trying the group's deployments in turn
(the first one rotates per call): a 408/409/429/5xx, a timeout, a dropped connection or an unreadable
body is retried (``Retry-After`` honoured, else exponential backoff) up to ``num_retries`` times per
deployment, then the next deployment gets the call; any other status is raised at once.
``FastTransport.read`` turns the JSON into an ``LLMResult`` (cost from litellm's price map, looked up
once per model). rpm/tpm windows, slots, the spend cap, redaction and the ledger stay the client's.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import aiohttp
import orjson

from tasks.llm.config import BackendConfigError, env_value
from tasks.llm.replies import backoff_wait, reasoning_of, tool_calls_of, with_retries
from tasks.llm.types import LLMResult

# provider → its default base URL (None: the deployment must name one)
OPENAI_PROTOCOL: dict[str, str | None] = {"openai": "https://api.openai.com/v1", "hosted_vllm": None,
                                          "lm_studio": None, "llamafile": None}
# litellm_params this path honours itself; a deployment with any other key goes through litellm
HANDLED = {"model", "api_base", "api_key", "organization", "timeout", "rpm", "tpm", "max_retries", "extra_headers",
           "temperature", "max_tokens", "top_p", "seed", "stop", "input_cost_per_token", "output_cost_per_token"}
BODY_DEFAULTS = ("temperature", "max_tokens", "top_p", "seed", "stop")
RETRY_STATUS = {408, 409, 429}


class FastTransportError(Exception):
    """A failed request: the HTTP status (0 for none), whether it may be retried, and the server's wait."""

    def __init__(self, message: str, status: int = 0, retryable: bool = False, retry_after: str | None = None) -> None:
        super().__init__(message)
        self.status, self.retryable, self.retry_after = status, retryable, retry_after


@dataclass(frozen=True)
class Endpoint:
    """One deployment as this transport sends to it."""

    model: str  # the litellm model string (what prices are looked up by)
    url: str  # …/chat/completions
    base_url: str
    wire_model: str  # the model name in the request body
    headers: dict[str, str]
    defaults: dict[str, Any] = field(default_factory=dict)  # body fields from litellm_params
    timeout_s: float | None = None
    price: tuple[float, float] | None = None  # USD per (prompt, completion) token from the deployment itself


class FastReply(NamedTuple):
    """A reply's JSON and the deployment that sent it (whose price it is charged at)."""

    body: dict[str, Any]
    endpoint: Endpoint


def deployment_transport(deployment: dict[str, Any], default: str) -> str:
    """``auto | litellm | fast`` for one deployment: its own ``transport`` key, else ``default``."""
    return str(deployment.get("transport") or default)


def not_fast(deployment: dict[str, Any], default: str = "auto") -> str | None:
    """Why the fast path does not serve this deployment (None: it does; see the module doc)."""
    choice = deployment_transport(deployment, default)
    params = deployment.get("litellm_params") or {}
    provider, _, wire_model = str(params.get("model", "")).partition("/")
    if choice == "litellm":
        return "transport: litellm"
    if not wire_model:
        return f"model {params.get('model')!r} names no provider"
    if set(params) - HANDLED:
        return f"litellm_params {sorted(set(params) - HANDLED)} are litellm's to handle"
    if choice == "auto" and provider not in OPENAI_PROTOCOL:
        return f"provider {provider!r} is not one of {sorted(OPENAI_PROTOCOL)}"
    if not (params.get("api_base") or OPENAI_PROTOCOL.get(provider)):
        return "no api_base"
    return None


def require_fast_where_asked(config: Any) -> None:
    """Raise ``BackendConfigError`` for a deployment that says ``transport: fast`` but cannot be served
    here (a global ``fast`` only means: wherever the deployment allows)."""
    for i, deployment in enumerate(config.model_list):
        if deployment.get("transport") == "fast" and (why := not_fast(deployment, "fast")) is not None:
            raise BackendConfigError(f"{config.source}: model_list[{i}] ({deployment.get('model_name')}): transport: fast, "
                                     f"but {why}")


def _text(value: Any) -> str | None:
    """``env_value`` as text (None stays None)."""
    value = env_value(value)
    return None if value is None else str(value)


def fast_endpoint(deployment: dict[str, Any], default: str = "auto") -> Endpoint | None:
    """The deployment as an ``Endpoint`` when the fast path serves it, else None. Keys come from the
    environment (``os.environ/NAME``), as litellm reads them."""
    if not_fast(deployment, default) is not None:
        return None
    params = deployment["litellm_params"]
    provider, _, wire_model = str(params["model"]).partition("/")
    base = _text(params.get("api_base")) or OPENAI_PROTOCOL.get(provider)
    if not base:  # an os.environ/ api_base that is not set
        return None
    headers = {"Content-Type": "application/json"}
    key = _text(params.get("api_key"))
    if key:
        headers["Authorization"] = f"Bearer {key}"
    if params.get("organization"):
        headers["OpenAI-Organization"] = str(_text(params["organization"]))
    headers.update({str(k): str(v) for k, v in (params.get("extra_headers") or {}).items()})
    price = None
    if params.get("input_cost_per_token") is not None:
        price = (float(params["input_cost_per_token"]), float(params.get("output_cost_per_token") or 0.0))
    timeout = params.get("timeout")
    return Endpoint(model=params["model"], url=base.rstrip("/") + "/chat/completions", base_url=base.rstrip("/"),
                    wire_model=wire_model, headers=headers, defaults={k: params[k] for k in BODY_DEFAULTS if k in params},
                    timeout_s=float(timeout) if timeout is not None else None, price=price)


class FastTransport:
    """Sends chat completions to ``Endpoint``s; one ``aiohttp`` session per base URL, made on the LLM
    loop at first use."""

    def __init__(self, timeout_s: float, num_retries: int, min_retry_wait_s: float = 0.0) -> None:
        self.timeout_s = timeout_s
        self.num_retries = num_retries
        self.min_retry_wait_s = min_retry_wait_s
        self._sessions: dict[str, aiohttp.ClientSession] = {}
        self._turn = itertools.count()
        self._prices: dict[str, tuple[float, float] | None] = {}
        self.sleep = asyncio.sleep  # how a retry waits (a test records the waits instead)

    def _session(self, endpoint: Endpoint) -> aiohttp.ClientSession:
        session = self._sessions.get(endpoint.base_url)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)  # the client's slots bound what is in flight
            session = aiohttp.ClientSession(connector=connector)  # bodies go as bytes, made by orjson in send
            self._sessions[endpoint.base_url] = session
        return session

    async def send(self, endpoints: list[Endpoint], messages: list[dict[str, Any]], params: dict[str, Any]) -> FastReply:
        """The reply of the first deployment that answers; raises the last ``FastTransportError``."""
        start = next(self._turn) % len(endpoints)
        last: FastTransportError | None = None
        for endpoint in endpoints[start:] + endpoints[:start]:
            body = orjson.dumps({"model": endpoint.wire_model, "messages": messages, **endpoint.defaults,
                                 **{k: v for k, v in params.items() if not k.startswith("_")}})
            try:
                reply = await with_retries(lambda endpoint=endpoint, body=body: self._post(endpoint, body), self.num_retries,
                                           lambda exc: getattr(exc, "retryable", False), self._wait, self.sleep)
                return FastReply(reply, endpoint)
            except FastTransportError as exc:
                if not exc.retryable:
                    raise
                last = exc
        assert last is not None
        raise last

    def _wait(self, exc: Exception, attempt: int) -> float:
        return backoff_wait(getattr(exc, "retry_after", None), attempt, self.min_retry_wait_s)

    async def _post(self, endpoint: Endpoint, body: bytes) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=endpoint.timeout_s or self.timeout_s)
        try:
            async with self._session(endpoint).post(endpoint.url, data=body, headers=endpoint.headers, timeout=timeout) as resp:
                raw = await resp.read()
                status, retry_after = resp.status, resp.headers.get("Retry-After")
        except TimeoutError:
            raise FastTransportError(f"Timeout: no reply from {endpoint.base_url} in {timeout.total} s", retryable=True) from None
        except aiohttp.ClientError as exc:
            raise FastTransportError(f"ConnectionError: {endpoint.base_url}: {type(exc).__name__}: {exc}", retryable=True) from None
        if status != 200:
            raise FastTransportError(f"HTTP {status} from {endpoint.base_url}: {_excerpt(raw)}", status,
                                     status in RETRY_STATUS or status >= 500, retry_after)
        try:
            reply = orjson.loads(raw)
            reply["choices"][0]["message"]  # noqa: B018 (the shape every reader needs)
        except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
            raise FastTransportError(f"MalformedReply: {endpoint.base_url} sent {_excerpt(raw)}", status, retryable=True) from None
        return reply

    def read(self, answer: FastReply, role: str, group: str, latency_s: float) -> LLMResult:
        """An ``LLMResult`` from the reply JSON (text, model, tokens, cost, finish reason, tool calls)."""
        reply, endpoint = answer.body, answer.endpoint
        choice = reply["choices"][0]
        message = choice.get("message") or {}
        usage = reply.get("usage") or {}
        prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        price = endpoint.price or self._price(endpoint.model)
        return LLMResult(
            role=role,
            text=message.get("content") or "",
            model=str(reply.get("model") or group),
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=None if price is None else prompt * price[0] + completion * price[1],
            latency_s=latency_s,
            finish_reason=choice.get("finish_reason"),
            tool_calls=tool_calls_of(message),
            reasoning=reasoning_of(message),
            content_null=message.get("content") is None,
        )

    def _price(self, model: str) -> tuple[float, float] | None:
        if model not in self._prices:
            from tasks.llm.transport import price_per_token  # litellm's price map, read once per model

            self._prices[model] = price_per_token(model)
        return self._prices[model]

    async def aclose(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()


def _excerpt(raw: bytes) -> str:
    return raw[:300].decode("utf-8", "replace").replace("\n", " ")
