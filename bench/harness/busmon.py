"""Timestamps of session-bus messages, from `dbus-monitor --profile` (wall clock, microseconds,
taken by the monitor as the bus delivers each message: independent of the harness's own pace)."""
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


class Message:
    def __init__(self, fields):
        self.kind = fields[0]  # mc (method call), sig, mr (return), err
        self.at = float(fields[1])
        self.sender = fields[3] if len(fields) > 3 else ""
        self.member = fields[-1]
        self.interface = fields[-2] if len(fields) > 6 else ""

    def __repr__(self):
        return f"<{self.kind} {self.interface}.{self.member} from {self.sender} at {self.at:.6f}>"


class BusMonitor:
    def __init__(self, log_path):
        self.log_path = log_path
        self.proc = subprocess.Popen(
            ["dbus-monitor", "--session", "--profile", *RULES],
            stdout=open(log_path, "w"),
            stderr=subprocess.DEVNULL,
        )
        self.offset = 0
        self.seen = []
        # dbus-monitor prints a header once it is connected and monitoring.
        deadline = time.time() + 10
        while time.time() < deadline and not open(log_path).read().strip():
            time.sleep(0.01)

    def _read(self):
        with open(self.log_path) as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind("\n")
        if end < 0:
            return []
        self.offset += len(data[: end + 1].encode())
        out = []
        for line in data[: end + 1].splitlines():
            fields = line.split("\t")
            if len(fields) >= 4 and fields[0] in ("mc", "sig", "mr", "err"):
                try:
                    out.append(Message(fields))
                except ValueError:
                    pass
        self.seen += out
        return out

    def mark(self):
        self._read()

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
