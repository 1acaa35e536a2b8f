"""Run ``mdmbridge ARGS...`` and record, at its first outgoing connection, the CPU seconds
the process has used since it started and the modules it has imported by then.

    python benchmarks/startup_probe.py OUT.json export --format jsonl -o out.jsonl

No hook in mdmbridge is needed: Python's audit event ``socket.connect`` fires when the
transport opens its first connection, which for a command against a loopback simulator is
its first request. Only the standard library's smallest modules are imported before the
CLI, so the figure is the command's own start-up.
"""

import json
import resource
import sys

_out = sys.argv[1]
_seen = False


def _first_connect(event: str, args: tuple[object, ...]) -> None:
    global _seen
    if event != "socket.connect" or _seen:
        return
    _seen = True
    usage = resource.getrusage(resource.RUSAGE_SELF)
    record = {"cpu_s": usage.ru_utime + usage.ru_stime, "modules": sorted(sys.modules)}
    with open(_out, "w", encoding="utf-8") as f:
        json.dump(record, f)


sys.addaudithook(_first_connect)

from mdmbridge.cli import main  # noqa: E402  (after the hook, or its imports go unseen)

sys.exit(main(sys.argv[2:]))
