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


def family_pss_mib(pids):
    """PSS in MiB of each of `pids` still alive ({pid: MiB}); one that exits while being read
    counts 0, as a process gone from the tree holds no memory."""
    out = {}
    for pid in pids:
        try:
            out[pid] = pss_kib(pid) / 1024
        except (OSError, ValueError, IndexError):
            out[pid] = 0.0
    return out


def context_switches(pids):
    """{(pid, tid): (process name, thread name, switches)} for every thread of `pids`.

    switches = voluntary + nonvoluntary context switches from /proc/PID/task/TID/status: each
    time the thread went off the CPU, so every wake-up of an idle thread is one. A thread that
    exits between the listing and the read is left out."""
    out = {}
    for pid in pids:
        process = name(pid)
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                switches = _switches(f"/proc/{pid}/task/{tid}/status")
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    thread = f.read().strip()
            except (OSError, ValueError):
                continue
            out[(pid, int(tid))] = (process, thread, switches)
    return out


def _switches(status_path):
    total = 0
    with open(status_path) as f:
        for line in f:
            if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                total += int(line.split()[1])
    return total
