"""Start-up and show latencies, each from an event on the bus or in the page to another."""
import time

from . import desktop
from .busmon import member
from .timelog import stamp


def cold_start(subject, busmon, trials):
    """Process spawn (time taken just before the fork) to its RegisterStatusNotifierItem call
    on the bus. One warm-up start first (page cache), then `trials` starts."""
    results = []
    for k in range(trials + 1):
        busmon.mark()
        spawned = subject.start()
        registered = busmon.wait_for(
            lambda m: m.member == "RegisterStatusNotifierItem" and desktop.pid_of_connection(m.sender) == subject.pid,
            30)
        if registered is None:
            subject.stop()
            raise RuntimeError(f"{subject.name} registered no tray item within 30 s")
        if k > 0:
            results.append((registered.at - spawned) * 1000)
        subject.wait_tray()
        subject.stop()
    return results


def painted_needle(subject):
    return f'window painted window="{subject.window_label}"'


def tray_show(subject, busmon, trials, hide):
    """Tray menu click (the DBusMenu Event as the bus delivers it) to the page's painted report.
    Also returns show()→painted where the subject logs `window shown` before calling show()."""
    to_painted, show_to_painted = [], []
    for k in range(trials + 1):
        busmon.mark()
        subject.log.mark()
        subject.tray.click(subject.show_label)
        clicked = busmon.wait_for(member("Event", "mc"), 5)
        lines = _wait_lines(subject, painted_needle(subject), 5)
        if clicked is None or lines is None:
            raise RuntimeError(f"{subject.name}: no painted window after the tray click (trial {k})")
        painted, shown = lines
        if k > 0:  # the first show after start is the warm-up
            to_painted.append((painted - clicked.at) * 1000)
            if shown is not None:
                show_to_painted.append((painted - shown) * 1000)
        hide(subject)
    return to_painted, show_to_painted


def hotkey(subject, combo, trials, hide):
    """Key press injected with xdotool (time taken just before it runs) to the page's painted
    report. A second press must hide the box again (the hotkey toggles it). Also returns the
    app's own part where it logs `hotkey pressed` on receipt: that line to the painted report."""
    results, inside = [], []
    for k in range(trials + 1):
        subject.log.mark()
        pressed = time.time()
        desktop.key(combo)
        received, painted = None, None
        deadline = time.time() + 3
        while painted is None and time.time() < deadline:
            for line in subject.log.new_lines():
                if "hotkey pressed" in line and received is None:
                    received = stamp(line)
                elif painted_needle(subject) in line:
                    painted = stamp(line)
            time.sleep(0.002)
        if painted is None:
            return None, f"no quick-ask box painted within 3 s of {combo} (the app registers no global hotkey yet)", []
        if k > 0:
            results.append((painted - pressed) * 1000)
            if received is not None:
                inside.append((painted - received) * 1000)
        desktop.key(combo)
        if not desktop.wait_hidden(subject.window_title, 3):
            hide(subject)
    return results, None, inside


def _wait_lines(subject, needle, timeout):
    """(painted time, `window shown` time or None) for the next painted report."""
    shown = None
    deadline = time.time() + timeout
    while time.time() < deadline:
        for line in subject.log.new_lines():
            if subject.logs_shown_before_show and "window shown" in line:
                shown = stamp(line)
            if needle in line:
                return stamp(line), shown
        time.sleep(0.002)
    return None


def hide_with_escape(subject, title=None):
    """Esc in the focused window puts it away (every page of the app does that, ui/js/common.js);
    waits until it is no longer viewable. `title`: the window's, else the subject's main one.
    Right after show() the X input focus may not have moved yet, so a key that went elsewhere is
    sent again, with the focus set on the window first."""
    title = title or subject.window_title
    for attempt in range(5):
        if attempt:
            desktop.focus_window(title)
        desktop.key("Escape")
        if desktop.wait_hidden(title, 0.5 * (attempt + 1)):
            return
    raise RuntimeError(f"{subject.name}: Esc did not hide the window '{title}'")


def hide_with_tray(subject, title=None):
    """The tray's Hide. `title` is not needed (the floor has one window); it is there so this and
    hide_with_escape can be passed to the same callers."""
    subject.tray.click("Hide")
    if not desktop.wait_hidden(subject.window_title, 3):
        raise RuntimeError(f"{subject.name}: the tray's Hide did not hide the window")
