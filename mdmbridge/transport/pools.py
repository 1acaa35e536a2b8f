"""The connection pools one transport sends through, and what the environment says about them.

urllib3's ``PoolManager`` directly, not ``requests`` on top of it: for a page of 100 devices
``Session.get`` spends ~0.6 ms of CPU (1-1.4 ms on a loaded machine: session settings merged
through runtime-``Protocol`` ``isinstance`` checks, a ``PreparedRequest``, a cookie jar per
answer), and even ``HTTPAdapter.send`` of a copied request ~0.28 ms, where the pools
themselves spend ~0.24 ms (``benchmarks/transport.py``); our vendors use no cookies, no
hooks and no redirects we do not check ourselves.

What ``requests`` read from the environment is read here, once per transport, with the
same rules, so nothing changes for a user behind a proxy or a corporate CA:

* **Proxies**: ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` (either case), unless
  ``NO_PROXY`` names the tenant's host (a suffix, ``host:port``, an address, a CIDR range,
  or ``*``). The proxy's ``user:password@`` becomes ``Proxy-Authorization``.
* **CA bundle**: ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` (a file or a directory), else
  certifi's bundle, as ``requests`` does; certificates are always verified.
"""

from __future__ import annotations

import ipaddress
import os
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

import certifi
import urllib3
from urllib3.util import make_headers

from mdmbridge.errors import ConfigError
from mdmbridge.transport.deadline import POOL_CLASSES


def open_pools(base_url: str, *, maxsize: int) -> urllib3.PoolManager:
    """A pool manager for the tenant's origin (and its token endpoint): through the proxy
    the environment names for ``base_url``, if any, with the CA settings of the environment."""
    tls: dict[str, Any] = {"cert_reqs": "CERT_REQUIRED"}
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and os.path.isdir(bundle):
        tls["ca_cert_dir"] = bundle
    else:
        tls["ca_certs"] = bundle or certifi.where()
    proxy = environ_proxy(base_url)
    manager: urllib3.PoolManager
    if proxy is None:
        manager = urllib3.PoolManager(num_pools=4, maxsize=maxsize, retries=False, **tls)
    else:
        parts = urllib.parse.urlsplit(proxy)
        if parts.scheme.lower() not in ("http", "https"):
            raise ConfigError(
                f"the {parts.scheme or 'schemeless'} proxy from the environment is not "
                "supported (only http:// and https:// proxies)"
            )
        headers = None
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            password = urllib.parse.unquote(parts.password or "")
            headers = make_headers(proxy_basic_auth=f"{user}:{password}")
        manager = urllib3.ProxyManager(
            proxy, num_pools=4, maxsize=maxsize, retries=False, proxy_headers=headers, **tls
        )
    manager.pool_classes_by_scheme = POOL_CLASSES
    return manager


def environ_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url``, or None (``requests``' choice)."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if bypass_proxy(host, parts.port, os.environ.get("no_proxy") or os.environ.get("NO_PROXY")):
        return None
    proxies = urllib.request.getproxies_environment()
    scheme = parts.scheme.lower()
    for key in (f"{scheme}://{host}", scheme, f"all://{host}", "all"):
        if proxies.get(key):
            proxy = proxies[key]
            return proxy if "://" in proxy else "http://" + proxy
    return None


def bypass_proxy(host: str, port: int | None, no_proxy: str | None) -> bool:
    """Whether ``NO_PROXY`` exempts ``host``, by ``requests``' rules: ``*``; for an
    address, the address itself or a CIDR range holding it; for a name, any entry it (or
    ``name:port``) ends with, or the entry without its leading dot."""
    if not host:
        return True
    if not no_proxy:
        return False
    entries = [entry.lower() for entry in no_proxy.replace(" ", "").split(",") if entry]
    if "*" in entries:
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    with_port = f"{host}:{port}" if port is not None else host
    for entry in entries:
        if address is not None:
            if entry == host or ("/" in entry and _in_network(address, entry)):
                return True
        elif host.endswith(entry) or with_port.endswith(entry) or host == entry.lstrip("."):
            return True
    return False


def _in_network(address: ipaddress.IPv4Address | ipaddress.IPv6Address, entry: str) -> bool:
    try:
        network = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return network.version == address.version and address in network


# What requests sent by default, sent as it did (the answers' Content-Encoding is decoded).
# gzip and deflate only, whatever decoders are installed: mdmbridge.transport.wire decodes a
# chunked body itself (to count its bytes on the wire) and knows these two.
_ACCEPT_ENCODING = "gzip, deflate"


def request_headers(
    method: str, data: bytes | None, own: Mapping[str, str], user_agent: str
) -> dict[str, str]:
    """The defaults, then the request's own; a write without a body says so
    (``Content-Length: 0``), as requests did, so a proxy does not wait for one."""
    headers = {
        "User-Agent": user_agent,
        "Accept-Encoding": _ACCEPT_ENCODING,
        "Accept": "application/json",
        "Connection": "keep-alive",
        **own,
    }
    if data is None and method not in ("GET", "HEAD"):
        headers["Content-Length"] = "0"
    return headers


def request_url(url: str, params: Mapping[str, str | int] | None) -> str:
    """``params`` appended as requests did (``&`` after a query the URL already holds)."""
    if not params:
        return url
    url = url.partition("#")[0]
    return url + ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
