"""A process and its descendants (the WebKit web and network processes), read from /proc."""
import os

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    # The command name may hold spaces and parentheses: split after the last ')'.
    return text[text.rindex(")") + 2:].split()


def tree(root):
    """`root` and every live descendant, by scanning /proc (children of any thread count)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = _stat_fields(entry)
        except (OSError, ValueError):
            continue
        if fields[0] != "Z":
            parents[int(entry)] = int(fields[1])
    found, frontier = [root], [root]
    while frontier:
        parent = frontier.pop()
        kids = [pid for pid, ppid in parents.items() if ppid == parent]
        found += kids
        frontier += kids
    return [pid for pid in found if pid in parents]


def name(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def pss_kib(pid):
    """Proportional set size: private pages plus a fair share of the shared ones."""
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


def cpu_ticks(pid):
    """utime + stime of every thread of `pid` so far, in clock ticks."""
    fields = _stat_fields(pid)
    # Fields after the name: state(0) ppid(1) ... utime is field 14 of stat, index 11 here.
    return int(fields[11]) + int(fields[12])


def alive(pid):
    try:
        return _stat_fields(pid)[0] != "Z"
    except OSError:
        return False
