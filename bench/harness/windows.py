"""Memory after use: PSS once every window has been opened and closed again, then left alone.

A tray app's windows are shown for a moment and hidden again; what they leave behind (a page's
rendering state, caches, the web process's heap) is what the app costs for the rest of the day,
which the idle figure, taken before any window was shown, cannot see."""
import time

from . import desktop, procs, stats


def show_with_launch(subject, label):
    """`kallyai-desktop --show LABEL`, a second launch handing it to the running app."""
    subject.launch_again("--show", label)


def show_with_tray(subject, label):
    """The tray menu's show entry (the floor has one window, so `label` is its only one)."""
    subject.tray.click(subject.show_label)


def open_each(subject, windows, show, hide, timeout=10):
    """Shows each (label, title) of `windows` once with `show(subject, label)`, waits until X
    reports it viewable and its page has reported a painted frame, then hides it with
    `hide(subject, title)` and waits until it is gone. Returns one record per window: how long
    the window took to become viewable and whether its painted report came (a page that never
    paints would leave less behind, so the record says so)."""
    records = []
    for label, title in windows:
        subject.log.mark()
        asked = time.time()
        show(subject, label)
        if not desktop.wait_viewable(title, timeout):
            raise RuntimeError(f"{subject.name}: window '{title}' not viewable within {timeout} s")
        viewable = time.time()
        painted = subject.log.wait_for(f'window painted window="{label}"', timeout) is not None
        hide(subject, title)
        records.append({"window": label, "viewable_ms": round((viewable - asked) * 1000, 1), "painted": painted})
    return records


def measure(plans, wait, samples, every):
    """Opens and closes every window of each subject, then samples the PSS of its process tree
    (procs.family_pss_mib, as for idle memory) `samples` times, `every` s apart, starting `wait` s
    after its last window was hidden; the median sample is reported.

    `plans` is a list of (subject, windows, show, hide), run one after the other; each subject's
    samples are timed from its own last hide, so both get the same quiet time."""
    out, closed = {}, {}
    for subject, windows, show, hide in plans:
        try:
            out[subject.name] = {"windows": open_each(subject, windows, show, hide)}
        except (RuntimeError, OSError) as error:
            out[subject.name] = {"pss_mib": None, "why": str(error)}
            continue
        closed[subject.name] = time.time()
        out[subject.name]["pss_samples_mib"] = []
    by_name = {subject.name: subject for subject, *_ in plans}
    schedule = sorted((at + wait + k * every, name) for name, at in closed.items() for k in range(samples))
    for due, name in schedule:
        time.sleep(max(0.0, due - time.time()))
        family = by_name[name].processes()
        pss = procs.family_pss_mib(family)
        result = out[name]
        result["pss_samples_mib"].append(sum(pss.values()))
        # Processes and PSS per process at the last sample, as for idle memory.
        result["processes"] = sorted(procs.name(pid) for pid in family)
        result["pss_by_process_mib"] = sorted(((procs.name(pid), round(v, 1)) for pid, v in pss.items()),
                                              key=lambda x: -x[1])
    for name in closed:
        out[name]["pss_mib"] = stats.median(out[name]["pss_samples_mib"])
        out[name]["pss_samples_mib"] = [round(x, 1) for x in out[name]["pss_samples_mib"]]
        out[name]["wait_s"] = wait
    return out
