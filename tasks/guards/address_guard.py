"""Where the factory may send a request: globally routable unicast only, by IANA's special-purpose
address registries (IPv4 and IPv6), with the IPv4 inside 6to4, Teredo, NAT64, mapped and
compatible IPv6 forms checked too, plus the metadata names and addresses of the clouds; and only
to a host *and* port on the allow-list. Used by the real executor and by remote ``$ref`` fetching.

In: a URL, the allowed (host, port) pairs (None: any host), whether private addresses are allowed
(tests against loopback), and a resolver (``socket.getaddrinfo`` by default; tests give one that
sends no DNS query). Out: the addresses checked, or ``Refused`` with the reason — raised before
any connection is made.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlsplit

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list[Any]]

# IANA IPv4 Special-Purpose Address Registry: the blocks that are not globally reachable unicast.
_V4_BLOCKED = [(ipaddress.ip_network(n), why) for n, why in (
    ("0.0.0.0/8", "this-network"), ("10.0.0.0/8", "private"), ("100.64.0.0/10", "shared address space (carrier NAT)"),
    ("127.0.0.0/8", "loopback"), ("169.254.0.0/16", "link-local (cloud metadata)"), ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"), ("192.0.2.0/24", "documentation (TEST-NET-1)"),
    ("192.88.99.0/24", "deprecated 6to4 relay anycast"), ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"), ("198.51.100.0/24", "documentation (TEST-NET-2)"),
    ("203.0.113.0/24", "documentation (TEST-NET-3)"), ("224.0.0.0/4", "multicast"), ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
)]
# IANA IPv6 Special-Purpose Address Registry, inside the global unicast 2000::/3 (all else is refused).
_V6_BLOCKED = [(ipaddress.ip_network(n), why) for n, why in (
    ("2001::/23", "IETF protocol assignments"), ("2001:db8::/32", "documentation"), ("3fff::/20", "documentation"),
)]
_V6_GLOBAL_EXCEPTIONS = [ipaddress.ip_network(n) for n in (
    "2001:1::1/128", "2001:1::2/128", "2001:1::3/128", "2001:3::/32", "2001:4:112::/48", "2001:20::/28", "2001:30::/28",
)]
_V6_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")

METADATA_HOSTS = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog", "metadata.azure.internal", "instance-data",
    "instance-data.ec2.internal", "metadata.tencentyun.com", "metadata.platformequinix.com", "metadata.packet.net",
    "metadata.oraclecloud.com", "kubernetes.default", "kubernetes.default.svc",
})
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "169.254.169.123", "100.100.100.200", "192.0.0.192", "fd00:ec2::254",
    "fd00:ec2::23",
))
LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan")


class Refused(Exception):
    """The destination is not allowed; the message says why."""


def forbidden_reason(ip: IP) -> str | None:
    """Why ``ip`` is not a globally routable unicast destination (None: it is)."""
    if ip in METADATA_ADDRESSES:
        return "cloud metadata"
    if isinstance(ip, ipaddress.IPv4Address):
        return next((why for net, why in _V4_BLOCKED if ip in net), None)
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        inner = forbidden_reason(embedded)
        return f"{inner} (IPv4 {embedded} inside {_form(ip)})" if inner else None
    if ip in _TEREDO:
        server, client = ip.teredo or (None, None)
        for v4 in (server, client):
            if v4 is not None and (inner := forbidden_reason(v4)):
                return f"{inner} (IPv4 {v4} inside Teredo)"
        return "Teredo tunnel (not globally routable unicast)"
    if ip.scope_id:
        return "scoped (link-local)"
    if ip not in _V6_GLOBAL_UNICAST:
        return _v6_outside_global(ip)
    if any(ip in net for net in _V6_GLOBAL_EXCEPTIONS):
        return None
    return next((why for net, why in _V6_BLOCKED if ip in net), None)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried by a mapped, compatible, NAT64 or 6to4 IPv6 address."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _V4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _form(ip: ipaddress.IPv6Address) -> str:
    if ip.ipv4_mapped is not None:
        return "an IPv4-mapped address"
    if ip.sixtofour is not None:
        return "6to4"
    return "NAT64" if ip in _NAT64 else "an IPv4-compatible address"


def _v6_outside_global(ip: ipaddress.IPv6Address) -> str:
    for attr, why in (("is_unspecified", "unspecified"), ("is_loopback", "loopback"), ("is_link_local", "link-local"),
                      ("is_multicast", "multicast"), ("is_site_local", "site-local")):
        if getattr(ip, attr):
            return why
    return "private (unique local)" if ip in _UNIQUE_LOCAL else "outside global unicast (2000::/3)"


def parse_literal(host: str) -> IP | None:
    """``host`` as an IP literal, in any form the C library would accept (``127.1``, ``0x7f.0.0.1``,
    ``2130706433``, ``[::1]``, ``fe80::1%eth0``); None when it is a name."""
    bare = host.strip("[]")
    if "%" in bare:
        address, _, zone = bare.partition("%")
        try:
            return ipaddress.IPv6Address(f"{address}%{zone}")
        except ValueError:
            return None
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except (OSError, ValueError):
        return None


def destination(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL, the port defaulted by scheme. Raises Refused otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.casefold()
    if scheme not in ("http", "https"):
        raise Refused(f"scheme {scheme or '(none)'} is not allowed")
    host = (parts.hostname or "").rstrip(".").casefold()
    if not host:
        raise Refused("no host")
    return host, port or (443 if scheme == "https" else 80)


def allowed_pairs(entries: Collection[str]) -> set[tuple[str, int]]:
    """Allow-list entries (``host``, ``host:port``, ``[v6]:port`` or a URL) as (host, port) pairs; a
    bare host allows the default ports 80 and 443."""
    pairs: set[tuple[str, int]] = set()
    for entry in entries:
        entry = entry.strip()
        if not entry:
            continue
        if "://" in entry:
            pairs.add(destination(entry))
            continue
        parts = urlsplit(f"//{entry}")
        host = (parts.hostname or "").rstrip(".").casefold()
        pairs.update({(host, parts.port)} if parts.port else {(host, 80), (host, 443)})
    return pairs


def check_destination(url: str, allowed: Collection[tuple[str, int]] | None, allow_private: bool = False,
                      resolve: Resolver = socket.getaddrinfo) -> list[IP]:
    """Raise Refused unless ``url`` is http(s) to an allowed (host, port) whose every address is
    globally routable unicast (or ``allow_private``). Returns the addresses checked."""
    host, port = destination(url)
    if allowed is not None and (host, port) not in allowed:
        shown = ", ".join(f"{h}:{p}" for h, p in sorted(allowed)) or "empty"
        raise Refused(f"{host}:{port} is not in the allow-list ({shown[:300]})")
    if host in METADATA_HOSTS:
        raise Refused(f"{host} is a cloud metadata name")
    literal = parse_literal(host)
    if literal is None and not allow_private and (host == "localhost" or host.endswith(LOCAL_SUFFIXES)):
        raise Refused(f"{host} is a local name (loopback)")
    if literal is not None:
        addresses: list[IP] = [literal]
    else:
        try:
            infos = resolve(host, port, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError) as exc:
            raise Refused(f"cannot resolve {host}: {exc}") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for ip in addresses:
        why = forbidden_reason(ip)
        if why and (not allow_private or ip in METADATA_ADDRESSES):
            raise Refused(f"{host} is {ip}, a {why} address" if literal is None else f"{ip} is a {why} address")
    return addresses
