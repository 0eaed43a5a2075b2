"""Peak RSS and CPU seconds of process trees, sampled every 50 ms in a background thread."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import psutil

INTERVAL_S = 0.05
RESCAN_EVERY = 20
"""Samples between searches for child processes. A search reads every /proc entry, and this
thread shares the driver's interpreter lock: rescanning at 20 Hz halved our W2 dispatch."""
MIB = 1024 * 1024


@dataclass
class _Group:
    roots: list[int]
    recursive: bool
    peak_rss: int = 0
    first_cpu: dict[int, float] = field(default_factory=dict)
    last_cpu: dict[int, float] = field(default_factory=dict)
    processes: dict[int, psutil.Process] = field(default_factory=dict)
    trees: dict[int, list[psutil.Process]] = field(default_factory=dict)


class TreeSampler:
    """Follows named groups of processes (``worker``, ``server``, ``driver``).

    Only the groups named in ``trees`` include their roots' descendants: the driver is the
    parent of every server and worker, so counting its tree would count everything twice.
    """

    def __init__(
        self,
        groups: dict[str, list[int]],
        *,
        trees: frozenset[str] = frozenset({"worker"}),
        interval: float = INTERVAL_S,
    ) -> None:
        self._groups = {
            name: _Group(roots=list(pids), recursive=name in trees) for name, pids in groups.items()
        }
        self._interval = interval
        self._samples = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def __enter__(self) -> TreeSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sample()

    def add_root(self, group: str, pid: int) -> None:
        """Follow another process in ``group`` (a replacement worker in W6)."""
        with self._lock:
            self._groups[group].roots.append(pid)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def _tree(self, group: _Group, root: int, rescan: bool) -> list[psutil.Process]:
        if not rescan and root in group.trees:
            return group.trees[root]
        group.trees[root] = found = self._search(group, root)
        return found

    def _search(self, group: _Group, root: int) -> list[psutil.Process]:
        try:
            process = group.processes.get(root) or psutil.Process(root)
            group.processes[root] = process
            found = [process]
            if not group.recursive:
                return found
            for child in process.children(recursive=True):
                found.append(group.processes.setdefault(child.pid, child))
            return found
        except psutil.Error:
            return []

    def sample(self) -> None:
        """Take one sample of every group."""
        with self._lock:
            rescan = self._samples % RESCAN_EVERY == 0
            self._samples += 1
            for group in self._groups.values():
                rss = 0
                for root in group.roots:
                    for process in self._tree(group, root, rescan):
                        try:
                            rss += process.memory_info().rss
                            times = process.cpu_times()
                        except psutil.Error:
                            continue
                        cpu = times.user + times.system
                        group.first_cpu.setdefault(process.pid, cpu)
                        group.last_cpu[process.pid] = cpu
                group.peak_rss = max(group.peak_rss, rss)

    def peak_rss_mib(self, group: str) -> float:
        """Highest summed RSS of the group's trees seen so far, in MiB."""
        return self._groups[group].peak_rss / MIB

    def cpu_seconds(self, group: str) -> float:
        """CPU seconds the group's processes used while followed."""
        g = self._groups[group]
        return sum(g.last_cpu[pid] - g.first_cpu[pid] for pid in g.last_cpu)

    def summary(self, wall_s: float) -> dict[str, float]:
        """Peak RSS (MiB) and CPU seconds per group, plus CPU use relative to wall time."""
        out: dict[str, float] = {}
        for name in self._groups:
            out[f"{name}_peak_rss_mib"] = round(self.peak_rss_mib(name), 1)
            out[f"{name}_cpu_s"] = round(self.cpu_seconds(name), 2)
        if wall_s > 0:
            total = sum(self.cpu_seconds(name) for name in self._groups)
            out["cpu_cores_busy"] = round(total / wall_s, 2)
        return out
