"""The address guard by IANA's special-purpose registries: every form of a non-global address is
refused before any connection — no DNS query leaves (a recording resolver stands in) and no
request is sent (a transport that fails the test if it is reached)."""

import httpx
import pytest

from tasks.guards.address_guard import Refused, allowed_pairs, check_destination, forbidden_reason, parse_literal
from tasks.guards.guarded_http import Guard, send_guarded
from tests.support.net import RecordingResolver as Resolver


def no_connection(request):
    raise AssertionError(f"a connection was attempted to {request.url}")


REFUSED = [
    ("http://100.100.100.200/latest/meta-data", "metadata"),  # Alibaba Cloud's metadata service
    ("http://100.64.0.1/", "shared address space"),
    ("http://100.127.255.254/", "shared address space"),
    ("http://192.0.0.170/", "IETF protocol assignments"),
    ("http://192.0.2.1/", "documentation"),
    ("http://198.18.0.1/", "benchmarking"),
    ("http://198.19.255.255/", "benchmarking"),
    ("http://240.0.0.1/", "reserved"),
    ("http://255.255.255.255/", "broadcast"),
    ("http://224.0.0.1/", "multicast"),
    ("http://0.0.0.0/", "this-network"),
    ("http://10.1.2.3/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.0.10/", "private"),
    ("http://127.0.0.1/", "loopback"),
    ("http://169.254.169.254/latest", "metadata"),
    ("http://169.254.1.1/", "link-local"),
    # IPv4 shorthand forms the C library accepts
    ("http://127.1/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0x7f.0.0.1/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    # IPv6, and IPv4 inside IPv6
    ("http://[::1]/", "loopback"),
    ("http://[::]/", "unspecified"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[fc00::1]/", "unique local"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://[ff02::1]/", "multicast"),
    ("http://[2001:db8::1]/", "documentation"),
    ("http://[::ffff:127.0.0.1]/", "IPv4-mapped"),
    ("http://[::ffff:169.254.169.254]/", "metadata"),
    ("http://[2002:a9fe:a9fe::]/", "6to4"),  # 6to4 of 169.254.169.254
    ("http://[2002:7f00:1::]/", "6to4"),
    ("http://[64:ff9b::a9fe:a9fe]/", "NAT64"),
    ("http://[64:ff9b::10.0.0.1]/", "NAT64"),
    ("http://[64:ff9b:1::1]/", "outside global unicast"),
    ("http://[::127.0.0.1]/", "IPv4-compatible"),
    ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "Teredo"),  # client 192.0.2.45 (documentation)
    ("http://[2001:0:a9fe:a9fe::1]/", "Teredo"),  # server 169.254.169.254
    ("http://[100::1]/", "outside global unicast"),  # discard-only
    # names
    ("http://metadata.google.internal/computeMetadata/v1/", "metadata name"),
    ("http://localhost/", "local name"),
    ("http://printer.local/", "local name"),
    ("http://api.internal/", "local name"),
    ("file:///etc/passwd", "scheme"),
    ("gopher://example.org/", "scheme"),
]


@pytest.mark.parametrize("url, words", REFUSED)
def test_each_non_global_form_is_refused_without_a_dns_query(url, words):
    resolver = Resolver({})
    with pytest.raises(Refused, match=words):
        check_destination(url, None, allow_private=False, resolve=resolver)
    assert resolver.asked == []


def test_a_name_is_checked_by_every_address_it_resolves_to():
    resolver = Resolver({"api.example.org": ["93.184.216.34", "100.100.100.200"],
                         "six.example.org": ["2606:4700::1111", "2002:a9fe:a9fe::1"],
                         "good.example.org": ["93.184.216.34", "2606:4700::1111"]})
    with pytest.raises(Refused, match="api.example.org is 100.100.100.200, a cloud metadata address"):
        check_destination("https://api.example.org/v1", None, resolve=resolver)
    with pytest.raises(Refused, match="6to4"):
        check_destination("https://six.example.org/v1", None, resolve=resolver)
    assert [str(a) for a in check_destination("https://good.example.org/v1", None, resolve=resolver)] == [
        "93.184.216.34", "2606:4700::1111"]


@pytest.mark.parametrize("ip", ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700::1111", "2a00:1450:4001::1",
                                "64:ff9b::808:808", "2002:5db8:d822::1", "::ffff:8.8.8.8", "192.31.196.1"])
def test_global_unicast_passes(ip):
    assert forbidden_reason(parse_literal(ip)) is None


def test_the_allow_list_is_by_host_and_port():
    allowed = allowed_pairs(["api.example.org", "data.example.org:8443", "https://x.example.org:9000/base"])
    assert allowed == {("api.example.org", 80), ("api.example.org", 443), ("data.example.org", 8443), ("x.example.org", 9000)}
    resolver = Resolver({"api.example.org": ["93.184.216.34"], "data.example.org": ["93.184.216.34"]})
    check_destination("https://api.example.org/v1", allowed, resolve=resolver)
    check_destination("https://data.example.org:8443/v1", allowed, resolve=resolver)
    for url in ("https://api.example.org:8443/v1", "http://data.example.org/v1", "https://other.example.org/"):
        with pytest.raises(Refused, match="not in the allow-list"):
            check_destination(url, allowed, resolve=resolver)


def test_allow_private_still_refuses_metadata():
    check_destination("http://127.0.0.1:8080/", {("127.0.0.1", 8080)}, allow_private=True)
    with pytest.raises(Refused, match="metadata"):
        check_destination("http://169.254.169.254/", None, allow_private=True)


def redirecting_to(location):
    return httpx.MockTransport(lambda request: httpx.Response(302, headers={"location": location})
                               if request.url.host == "api.example.org" else no_connection(request))


@pytest.mark.parametrize("location, words", [
    ("http://169.254.169.254/latest/meta-data", "not in the allow-list"),
    ("https://api.example.org:8443/other", "api.example.org:8443 is not in the allow-list"),
    ("http://[2002:a9fe:a9fe::]/", "not in the allow-list"),
])
def test_a_redirect_is_followed_only_to_an_allowed_host_and_port(location, words):
    resolver = Resolver({"api.example.org": ["93.184.216.34"]})
    guard = Guard({("api.example.org", 443)}, resolve=resolver)
    with httpx.Client(transport=redirecting_to(location)) as client, pytest.raises(Refused, match=words):
        send_guarded(client, guard, "GET", "https://api.example.org/v1")


def test_a_redirect_to_a_forbidden_address_of_an_open_guard_is_refused_before_connecting():
    resolver = Resolver({"api.example.org": ["93.184.216.34"], "evil.example.org": ["100.64.0.7"]})
    guard = Guard(None, resolve=resolver)  # any public host (remote $refs): still no private address
    with httpx.Client(transport=redirecting_to("http://evil.example.org/x")) as client:
        with pytest.raises(Refused, match="shared address space"):
            send_guarded(client, guard, "GET", "https://api.example.org/v1")
    assert resolver.asked == ["api.example.org", "evil.example.org"]
