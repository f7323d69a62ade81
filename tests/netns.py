"""Hosts on a private network, made of Linux network namespaces (needs root and iproute2).

    lab = NetLab.create(hosts=3)      # bridge in the root namespace + one namespace per host
    lab.server                        # the bridge's address: where a server listens
    lab.exec_prefix(1)                # ["ip", "netns", "exec", NS]: run a command on host 1
    lab.cut(1); lab.heal(1)           # host 1's link down (a partition: no RST), up again
    lab.destroy()                     # always, even after a failure (idempotent)

Host ``i`` is ``10.A.B.(10+i)`` on a /24 picked at random among the ones this machine has no
address or route in; names carry a per-run tag, so parallel runs never collide. The root
namespace is the fourth host: the bridge holds ``10.A.B.1``.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
from dataclasses import dataclass, field


def _ip(*args: str) -> str:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def unavailable() -> str | None:
    """Why namespaces cannot be made here (None: they can)."""
    if shutil.which("ip") is None:
        return "iproute2 (`ip`) is not installed (tools/setup.sh installs it)"
    if os.geteuid() != 0:
        return "network namespaces need root"
    return None


def _free_subnet(rng: random.Random) -> str:
    taken = _ip("-4", "addr") + _ip("-4", "route")
    for _ in range(200):
        prefix = f"10.{rng.randint(160, 250)}.{rng.randint(0, 255)}"
        if f" {prefix}." not in taken and f"\n{prefix}." not in taken:
            return prefix
    raise RuntimeError("no free 10.x.y.0/24 subnet found")


@dataclass
class NetLab:
    tag: str
    prefix: str  # "10.A.B"
    hosts: int
    made: list[tuple[str, str]] = field(default_factory=list)  # ("netns"|"link", name)

    @classmethod
    def create(cls, hosts: int) -> NetLab:
        rng = random.Random()
        tag = f"jy{os.getpid() % 100000:05d}{rng.randrange(16**2):02x}"  # <= 9 chars
        lab = cls(tag=tag, prefix=_free_subnet(rng), hosts=hosts)
        try:
            lab._build()
        except BaseException:
            lab.destroy()
            raise
        return lab

    @property
    def bridge(self) -> str:
        return f"{self.tag}br"

    @property
    def server(self) -> str:
        return f"{self.prefix}.1"

    @property
    def network(self) -> str:
        return f"{self.prefix}.0/24"

    def namespace(self, host: int) -> str:
        return f"{self.tag}-h{host}"

    def address(self, host: int) -> str:
        return f"{self.prefix}.{10 + host}"

    def _link(self, host: int) -> str:
        return f"{self.tag}h{host}"  # the root namespace's end of host's cable

    def _build(self) -> None:
        _ip("link", "add", self.bridge, "type", "bridge")
        self.made.append(("link", self.bridge))
        _ip("addr", "add", f"{self.server}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for host in range(1, self.hosts + 1):
            ns, outside, inside = self.namespace(host), self._link(host), f"{self.tag}i{host}"
            _ip("netns", "add", ns)
            self.made.append(("netns", ns))
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            self.made.append(("link", outside))
            _ip("link", "set", inside, "netns", ns)
            _ip("link", "set", outside, "master", self.bridge, "up")
            _ip("-n", ns, "link", "set", inside, "name", "eth0")
            _ip("-n", ns, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")

    def exec_prefix(self, host: int) -> list[str]:
        return ["ip", "netns", "exec", self.namespace(host)]

    def cut(self, host: int) -> None:
        """Unplug host's cable: its packets go nowhere, nobody is told (no RST, no ICMP)."""
        _ip("link", "set", self._link(host), "down")

    def heal(self, host: int) -> None:
        _ip("link", "set", self._link(host), "up")

    def destroy(self) -> None:
        for kind, name in reversed(self.made):
            with contextlib.suppress(RuntimeError):
                if kind == "netns":
                    _ip("netns", "del", name)
                else:
                    _ip("link", "del", name)
        self.made.clear()
