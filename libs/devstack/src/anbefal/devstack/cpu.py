"""Where a benchmark's CPU goes: seconds per process tree read from /proc, and py-spy's samples
of one process summed per function.

Both put the cost per request (or per answer), which on a shared, noisy machine is steadier
than a rate: a rate falls when another session takes the cores, the CPU per request does not.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path


class CpuMeter:
    """CPU seconds (user + system) of process trees, and of this script's finished children
    (wrk), so a run's CPU can be put per answer for each part of the system."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self._tick = os.sysconf("SC_CLK_TCK")

    def _stat(self) -> dict[int, tuple[int, float]]:
        """pid -> (parent pid, own CPU seconds plus that of its reaped children)."""
        table: dict[int, tuple[int, float]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
            table[int(entry.name)] = (int(fields[1]), ticks / self._tick)
        return table

    def snapshot(self) -> dict[str, float]:
        table = self._stat()
        children: dict[int, list[int]] = {}
        for pid, (parent, _) in table.items():
            children.setdefault(parent, []).append(pid)
        totals: dict[str, float] = {}
        for name, root in self.roots.items():
            stack, total = [root], 0.0
            while stack:
                pid = stack.pop()
                total += table.get(pid, (0, 0.0))[1]
                stack.extend(children.get(pid, []))
            totals[name] = total
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        totals["wrk"] = usage.ru_utime + usage.ru_stime
        return totals


def per_request_us(
    before: dict[str, float], after: dict[str, float], requests: int
) -> dict[str, float]:
    """µs of CPU per request, per part."""
    return {name: (after[name] - before[name]) / max(requests, 1) * 1e6 for name in after}


@dataclass
class Profile:
    """py-spy's samples of one process, by function (`name (file)`)."""

    rate_hz: int
    samples: int
    own: Counter[str]  # samples with the function on top of the stack
    inclusive: Counter[str]  # samples with the function anywhere on the stack

    @classmethod
    def read(cls, path: Path, rate_hz: int) -> Profile:
        own: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        samples = 0
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = stack.split(";")
            samples += n
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
        return cls(rate_hz, samples, own, inclusive)

    def lines(self, cpu_us: float, top: int = 25) -> list[str]:
        """The costliest functions, each as its share of the samples times `cpu_us` (the
        process's CPU per request read from /proc): µs per request, by own time and with callees.
        Shares, not sample counts, so a recorder that started late does not skew them."""

        def us(n: int) -> float:
            return n / max(self.samples, 1) * cpu_us

        out = [
            f"py-spy: {self.samples:,} samples at {self.rate_hz} Hz, {cpu_us:,.0f} µs per request"
        ]
        # With callees, the frames of the process's start-up chain down to its event loop (on
        # as many samples as the busiest frame) say nothing: left out.
        frames = {f: n for f, n in self.inclusive.items() if not f.startswith("process ")}
        chain = 0.98 * max(frames.values(), default=0)
        calling = Counter({f: n for f, n in frames.items() if n < chain})
        for title, counter in (("own", self.own), ("with callees", calling)):
            out.append(f"  top {top} by {title} (µs per request, % of samples):")
            out += [
                f"  {us(n):8.1f} {n / max(self.samples, 1):6.1%}  {frame}"
                for frame, n in counter.most_common(top)
            ]
        return out


class PySpy:
    """`py-spy record` of a process (and its children) for the length of a `with` block."""

    def __init__(self, pid: int, output: Path, rate_hz: int = 200) -> None:
        self.pid, self.output, self.rate_hz = pid, output, rate_hz
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> PySpy:
        cmd = [
            "uv", "tool", "run", "py-spy", "record", "--pid", str(self.pid), "--format", "raw",
            "--nolineno", "--nonblocking", "--subprocesses", "--rate", str(self.rate_hz),
            "--output", str(self.output),
        ]  # fmt: skip
        self._process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def __exit__(self, *_: object) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        self._process.wait(60)

    def profile(self) -> Profile:
        return Profile.read(self.output, self.rate_hz)


def record_each(
    stack: contextlib.ExitStack, roots: dict[str, int], names: Collection[str], output: Path | None
) -> dict[str, PySpy]:
    """A py-spy recording (`<output>.<name>.txt`) of each root in `names`, for the length of
    `stack`; none when `output` is None."""
    return {
        name: stack.enter_context(PySpy(pid, output.with_suffix(f".{name}.txt")))
        for name, pid in roots.items()
        if output is not None and name in names
    }
