"""The ``/etc/hosts`` and ``/etc/resolv.conf`` a container sees.

BuildKit writes a hosts file naming the sandbox on 127.0.0.1 and copies the host's
resolv.conf; in a private network namespace a nameserver on the host's loopback
cannot be reached, so it is dropped (and Google's public resolvers stand in when
nothing is left, as Docker does).
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_NAMESERVERS = ("8.8.8.8", "8.8.4.4")


def hosts_file(hostname: str) -> str:
    return (
        f"127.0.0.1\tlocalhost {hostname}\n"
        "::1\tlocalhost ip6-localhost ip6-loopback\n"
        "fe00::0\tip6-localnet\n"
        "ff00::0\tip6-mcastprefix\n"
        "ff02::1\tip6-allnodes\n"
        "ff02::2\tip6-allrouters\n"
    )


def _is_loopback(address: str) -> bool:
    return address.startswith("127.") or address in ("::1", "0:0:0:0:0:0:0:1")


def resolv_conf(host_network: bool, source: Path = Path("/etc/resolv.conf")) -> str:
    try:
        text = source.read_text()
    except OSError:
        text = ""
    if host_network:
        return text
    lines: list[str] = []
    nameservers = 0
    for line in text.splitlines():
        fields = line.split()
        if fields[:1] == ["nameserver"] and len(fields) > 1:
            if _is_loopback(fields[1]):
                continue
            nameservers += 1
        lines.append(line)
    if nameservers == 0:
        lines += [f"nameserver {address}" for address in DEFAULT_NAMESERVERS]
    return "\n".join(lines) + "\n"
