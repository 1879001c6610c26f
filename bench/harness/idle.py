"""Idle cost: memory (PSS), CPU time and requests to the server while nothing happens."""
import time

from . import procs, stats


def measure(subjects, sim, started_at, settle, window, sample_every):
    """Waits until `settle` s after `started_at`, then watches every subject for `window` s.

    Memory: PSS summed over each subject's process tree, sampled every `sample_every` s (median
    reported). CPU: utime+stime over the window of every process alive at its start or end.
    Requests: what the sim logged during the window (only the app talks to it).
    """
    time.sleep(max(0.0, started_at + settle - time.time()))
    sim.clear_requests()
    begin = time.time()
    ticks_before = {s.name: _ticks(s.processes()) for s in subjects}
    samples = {s.name: [] for s in subjects}
    names = {}
    by_process = {}
    for k in range(int(window // sample_every) + 1):
        time.sleep(max(0.0, begin + k * sample_every - time.time()))
        for s in subjects:
            family = s.processes()
            names[s.name] = sorted(procs.name(pid) for pid in family)
            pss = {pid: _safe(procs.pss_kib, pid) / 1024 for pid in family}
            samples[s.name].append(sum(pss.values()))
            # PSS per process at the last sample: where the memory goes.
            by_process[s.name] = sorted(((procs.name(pid), round(v, 1)) for pid, v in pss.items()),
                                        key=lambda x: -x[1])
    end = time.time()
    requests = sim.requests()
    out = {}
    for s in subjects:
        after = _ticks(s.processes())
        before = ticks_before[s.name]
        used = sum(t - before.get(pid, 0) for pid, t in after.items())
        out[s.name] = {
            "pss_mib": stats.median(samples[s.name]),
            "pss_samples_mib": [round(x, 1) for x in samples[s.name]],
            "cpu_percent": 100 * used / procs.CLK_TCK / (end - begin),
            "cpu_ticks": used,
            "window_s": end - begin,
            "processes": names[s.name],
            "pss_by_process_mib": by_process[s.name],
        }
    return out, requests, end - begin


def _ticks(pids):
    return {pid: t for pid in pids if (t := _safe(procs.cpu_ticks, pid)) is not None}


def _safe(f, pid):
    try:
        return f(pid)
    except (OSError, ValueError, IndexError):
        return 0 if f is procs.pss_kib else None
