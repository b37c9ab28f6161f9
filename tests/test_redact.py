"""Keys are redacted from recorded text: exact values of the referenced environment variables, and
anything shaped like a provider key or a bearer token; ordinary text is left alone."""

from tasks.llm.config import parse_backend_config
from tasks.llm.redact import Redactor


def test_exact_secrets_and_key_shapes_are_redacted(monkeypatch):
    monkeypatch.setenv("MY_KEY", "plain-value-no-prefix-123")
    cfg = parse_backend_config({"model_list": [{"model_name": "user", "litellm_params": {
        "model": "openai/x", "api_key": "os.environ/MY_KEY", "api_base": "http://127.0.0.1:1/v1"}}]})
    assert cfg.secret_values() == ["plain-value-no-prefix-123"]
    r = Redactor(cfg.secret_values())
    assert r("AuthenticationError: Incorrect API key provided: plain-value-no-prefix-123.") == \
        "AuthenticationError: Incorrect API key provided: [redacted]."
    assert r("bad key sk-ant-api03-AbCdEf0123456789 and Bearer eyJhbGciOiJIUzI1NiJ9.e30.x") == "bad key [redacted] and [redacted]"
    assert r("Google said AIzaSyA1234567890abcdefghijk") == "Google said [redacted]"
    kept = "Timeout: the sky-blue skeleton task took 600 s (key-value store)"
    assert r(kept) == kept and r(None) is None and r("") == ""
