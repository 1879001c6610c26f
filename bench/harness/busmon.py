"""Session-bus messages with timestamps, from `dbus-monitor` (wall clock, microseconds, taken by the
monitor as the bus delivers each message to it: independent of the harness's own pace, but it can
lag the receiver by a scheduling slice, so sub-millisecond differences are noise)."""
import re
import subprocess
import time

RULES = [
    # Tray items registering with the watcher: the sender is the app's connection.
    "type='method_call',interface='org.kde.StatusNotifierWatcher',member='RegisterStatusNotifierItem'",
    # A panel clicking a tray menu entry.
    "type='method_call',interface='com.canonical.dbusmenu',member='Event'",
    # Notifications shown, replaced, withdrawn, and acted on.
    "type='method_call',interface='org.freedesktop.Notifications'",
    "type='signal',interface='org.freedesktop.Notifications'",
]

_HEADER = re.compile(r"^(method call|signal|method return|error) time=(\d+\.\d+) sender=(\S+) -> "
                     r"destination=(\S+) serial=\d+(?: path=[^;]*; interface=([^;]*); member=(\S+))?")
_KINDS = {"method call": "mc", "signal": "sig", "method return": "mr", "error": "err"}


class Message:
    def __init__(self, match):
        self.kind = _KINDS[match.group(1)]
        self.at = float(match.group(2))
        self.sender = match.group(3)
        self.interface = match.group(5) or ""
        self.member = match.group(6) or ""
        self.body = ""

    def __repr__(self):
        return f"<{self.kind} {self.interface}.{self.member} from {self.sender} at {self.at:.6f}>"


class BusMonitor:
    def __init__(self, log_path):
        self.log_path = log_path
        self.proc = subprocess.Popen(["dbus-monitor", "--session", *RULES], stdout=open(log_path, "w"),
                                     stderr=subprocess.DEVNULL)
        self.offset = 0
        self.pending = None
        # dbus-monitor prints NameAcquired/NameLost once it is monitoring.
        deadline = time.time() + 10
        while time.time() < deadline and "NameLost" not in open(log_path).read():
            time.sleep(0.01)

    def _read(self):
        """Messages completed since the last read. dbus-monitor writes and flushes one whole message
        at a time; a message is taken as complete once the next one starts or 50 ms have passed."""
        with open(self.log_path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n")
        out = []
        if end >= 0:
            self.offset += end + 1
            for line in data[: end + 1].decode("utf-8", "replace").splitlines():
                match = _HEADER.match(line)
                if match:
                    if self.pending:
                        out.append(self.pending[0])
                    self.pending = (Message(match), time.time())
                elif self.pending:
                    self.pending[0].body += line.strip() + "\n"
        if self.pending and time.time() - self.pending[1] > 0.05:
            out.append(self.pending[0])
            self.pending = None
        return out

    def mark(self):
        """Forget what the bus carried so far."""
        self._read()
        self.pending = None

    def wait_for(self, predicate, timeout):
        """The next message (after the last mark/wait) for which predicate(message) holds."""
        deadline = time.time() + timeout
        while True:
            for message in self._read():
                if predicate(message):
                    return message
            if time.time() >= deadline:
                return None
            time.sleep(0.002)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=5)


def member(name, kind=None, sender=None):
    return lambda m: m.member == name and (kind is None or m.kind == kind) and (sender is None or m.sender == sender)
