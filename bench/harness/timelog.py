"""Log files whose lines start with a wall-clock timestamp, read as they grow.

Two formats: the app's tracing lines (`2026-11-25T15:40:01.123456Z  INFO target: message`) and
the floor's (`1764085201.123456 message`). Both are the system's real-time clock, which is the
clock the harness and dbus-monitor read too.
"""
import datetime
import re
import time

_RFC3339 = re.compile(r"^(?:\x1b\[[0-9;]*m)*(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z")
_EPOCH = re.compile(r"^(\d{9,11}\.\d+) ")


def stamp(line):
    """Seconds since the epoch at the start of `line`, or None."""
    m = _EPOCH.match(line)
    if m:
        return float(m.group(1))
    m = _RFC3339.match(line)
    if m:
        text = m.group(1)
        if "." in text:
            head, frac = text.split(".")
            text = f"{head}.{frac[:6].ljust(6, '0')}"
        parsed = datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.timezone.utc)
        return parsed.timestamp()
    return None


class TimeLog:
    def __init__(self, path):
        self.path = path
        self.offset = 0

    def mark(self):
        """Forget what is there now: later waits only see lines written after this call."""
        try:
            with open(self.path, "rb") as f:
                f.seek(0, 2)
                self.offset = f.tell()
        except OSError:
            self.offset = 0

    def new_lines(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        return data[: end + 1].decode("utf-8", "replace").splitlines()

    def wait_for(self, needle, timeout):
        """The timestamp of the next line containing `needle`, or None after `timeout` seconds."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.new_lines():
                if needle in line:
                    return stamp(line)
            time.sleep(0.002)
        return None

    def text(self):
        try:
            with open(self.path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""
