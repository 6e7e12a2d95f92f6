"""This host's own addresses, for a server bound on every address (``0.0.0.0`` / ``::``).

Read from the kernel without DNS (a hostname lookup can hang for seconds on a box with a
broken resolver): on Linux each interface's IPv4 address by ``SIOCGIFADDR`` and the IPv6
ones from ``/proc/net/if_inet6``; elsewhere the address of the default route.
Loopback, link-local and container bridges (``docker0``, ``br-…``, ``veth…``) are left out:
nobody at another machine reaches the server through them.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys

_VIRTUAL = ("lo", "docker", "br-", "veth", "virbr", "cni", "flannel", "cali", "vxlan", "tun", "tap")
_SIOCGIFADDR = 0x8915


def _useful(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return not (ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified)


def _virtual(name: str) -> bool:
    return name.startswith(_VIRTUAL)


def _ipv4_linux() -> list[str]:
    import fcntl

    out = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _index, name in socket.if_nameindex():
            if _virtual(name):
                continue
            try:
                packed = fcntl.ioctl(s.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
            except OSError:  # no IPv4 address on this interface
                continue
            out.append(socket.inet_ntoa(packed[20:24]))
    return out


def _ipv6_linux() -> list[str]:
    out = []
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as fh:
            for line in fh:
                fields = line.split()
                if len(fields) < 6 or _virtual(fields[5]):
                    continue
                out.append(str(ipaddress.IPv6Address(bytes.fromhex(fields[0]))))
    except OSError:
        pass
    return out


def _default_route() -> list[str]:
    # A UDP "connect" only picks the source address the kernel would use; nothing is sent.
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed anywhere real
            return [s.getsockname()[0]]
    except OSError:
        return []


def host_addresses() -> list[str]:
    """Addresses of this host that another machine may reach it at, IPv4 first."""
    found = (_ipv4_linux() + _ipv6_linux()) if sys.platform.startswith("linux") else _default_route()
    seen: list[str] = []
    for address in found:
        if _useful(address) and address not in seen:
            seen.append(address)
    return seen
