"""Peak resident memory the chain adds to a fresh interpreter: python rss.py ENGINE N_NODES.

Prints the growth of the process's peak resident set size, in bytes, as one JSON number.
Unlike tracemalloc, this also counts what the allocator keeps and micrograd's recursion frames,
and it costs nothing per allocation, so it can measure micrograd on the full chain.
"""

from __future__ import annotations

import gc
import json
import resource
import sys

import graphs


def peak_rss_bytes() -> int:
    """The peak resident set size of this process's own memory so far.

    Linux's VmHWM, not getrusage's ru_maxrss: after fork + exec, ru_maxrss starts at the parent's
    size, which would hide the chain behind the size of whatever started this script.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def current_rss_bytes() -> int:
    """The resident set size now (Linux), or the peak so far where /proc is missing."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:
        return peak_rss_bytes()


def main(engine: str, n_nodes: int) -> int:
    if engine == "micrograd":
        from micrograd.engine import Value
    elif engine == "gradengine":
        from gradengine import Value
    else:
        raise SystemExit(f"engine must be micrograd or gradengine, got {engine!r}")
    gc.collect()
    before = current_rss_bytes()
    result = graphs.with_deep_recursion(lambda: graphs.chain(Value, n_nodes))
    after = peak_rss_bytes()
    del result
    print(json.dumps(after - before))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python rss.py micrograd|gradengine N_NODES")
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
