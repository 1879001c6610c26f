"""Idle cost: memory (PSS), CPU time, wake-ups and requests to the server while nothing happens."""
import time

from . import procs, stats


def measure(subjects, sim, started_at, settle, window, sample_every):
    """Waits until `settle` s after `started_at`, then watches every subject for `window` s.

    Memory: PSS summed over each subject's process tree, sampled every `sample_every` s (median
    reported). CPU: utime+stime over the window of every process alive at its start or end.
    Wake-ups: context switches of every thread of the same processes over the window (see
    `wakeups`). Requests: what the sim logged during the window (only the app talks to it).
    """
    time.sleep(max(0.0, started_at + settle - time.time()))
    sim.clear_requests()
    begin = time.time()
    ticks_before = {s.name: _ticks(s.processes()) for s in subjects}
    switches_before = {s.name: (time.time(), procs.context_switches(s.processes())) for s in subjects}
    samples = {s.name: [] for s in subjects}
    names = {}
    by_process = {}
    for k in range(int(window // sample_every) + 1):
        time.sleep(max(0.0, begin + k * sample_every - time.time()))
        for s in subjects:
            family = s.processes()
            names[s.name] = sorted(procs.name(pid) for pid in family)
            pss = procs.family_pss_mib(family)
            samples[s.name].append(sum(pss.values()))
            # PSS per process at the last sample: where the memory goes.
            by_process[s.name] = sorted(((procs.name(pid), round(v, 1)) for pid, v in pss.items()),
                                        key=lambda x: -x[1])
    end = time.time()
    requests = sim.requests()
    out = {}
    for s in subjects:
        read_at, switches_after = time.time(), procs.context_switches(s.processes())
        read_before, switches = switches_before[s.name]
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
            "wakeups": wakeups(switches, switches_after, read_at - read_before),
        }
    return out, requests, end - begin


def wakeups(before, after, window):
    """Wake-ups per minute from two `procs.context_switches` readings `window` s apart, and the ten
    threads that woke most. A thread born in the window counts from 0; one that ended in it is
    lost (the kernel keeps its count only for the process's own getrusage), so those are counted
    in `threads_ended` to show what the figure may miss."""
    per_thread = sorted(((process, pid, tid, thread, switches - before.get((pid, tid), (None, None, 0))[2])
                         for (pid, tid), (process, thread, switches) in after.items()), key=lambda x: -x[4])
    total = sum(x[4] for x in per_thread)
    per_min = 60 / window
    return {
        "count": total,
        "per_min": total * per_min,
        "window_s": window,
        "threads": len(after),
        "threads_ended": len(before.keys() - after.keys()),
        # tid == pid is the process's main thread (other threads may carry the same name).
        "top_threads": [{"process": process, "pid": pid, "tid": tid, "thread": thread,
                         "wakeups_per_min": round(n * per_min, 1)} for process, pid, tid, thread, n in per_thread[:10]],
    }


def _ticks(pids):
    return {pid: t for pid in pids if (t := _safe(procs.cpu_ticks, pid)) is not None}


def _safe(f, pid):
    try:
        return f(pid)
    except (OSError, ValueError, IndexError):
        return None
