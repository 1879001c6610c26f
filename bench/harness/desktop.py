"""The headless desktop as a user and a panel see it: tray items over StatusNotifierItem and
DBusMenu (busctl), X11 windows and keys (xdotool), notifications (dunstctl)."""
import json
import subprocess
import time


def run(*args, timeout=10, check=True):
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def busctl_json(*args):
    return json.loads(run("busctl", "--user", "--json=short", *args))


def pid_of_connection(name):
    try:
        out = busctl_json("call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                          "GetConnectionUnixProcessID", "s", name)
        return out["data"][0]
    except (RuntimeError, ValueError, KeyError, subprocess.TimeoutExpired):
        return None


def registered_items():
    out = busctl_json("get-property", "org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher",
                      "org.kde.StatusNotifierWatcher", "RegisteredStatusNotifierItems")
    return out["data"]


class TrayItem:
    def __init__(self, service, path):
        self.service = service
        out = busctl_json("get-property", service, path, "org.kde.StatusNotifierItem", "Menu")
        self.menu = out["data"]

    def entries(self):
        out = busctl_json("--", "call", self.service, self.menu, "com.canonical.dbusmenu", "GetLayout", "iias",
                          "0", "-1", "1", "label")
        entries = {}
        for child in out["data"][1][2]:
            item_id, props = child["data"][0], child["data"][1]
            if "label" in props:
                entries[props["label"]["data"]] = item_id
        return entries

    def click(self, label):
        """Clicks the entry labelled `label` as a panel does (DBusMenu Event)."""
        item_id = self.entries().get(label)
        if item_id is None:
            raise RuntimeError(f"no tray menu entry '{label}' in {list(self.entries())}")
        run("busctl", "--user", "--", "call", self.service, self.menu, "com.canonical.dbusmenu", "Event", "isvu",
            str(item_id), "clicked", "i", "0", "0")


def tray_item_of(pid, timeout=30):
    """The tray item process `pid` registered with the watcher, once it has."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for item in registered_items():
            service, _, path = item.partition("/")
            if pid_of_connection(service) == pid:
                return TrayItem(service, "/" + path)
        time.sleep(0.05)
    raise RuntimeError(f"process {pid} registered no tray item within {timeout} s")


def window_viewable(title):
    """Whether a top-level window titled `title` is mapped and viewable."""
    result = subprocess.run(["xwininfo", "-name", title], capture_output=True, text=True, timeout=10)
    return result.returncode == 0 and "Map State: IsViewable" in result.stdout


def wait_viewable(title, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if window_viewable(title):
            return True
        time.sleep(0.01)
    return False


def wait_hidden(title, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if not window_viewable(title):
            return True
        time.sleep(0.01)
    return False


def focus_window(title):
    for window in run("xdotool", "search", "--name", f"^{title}$", check=False).split():
        run("xdotool", "windowfocus", "--sync", window, check=False)


def key(combo):
    # No --clearmodifiers (nothing holds a modifier here; it costs X round trips) and no pause
    # between the modifiers and the key (xdotool waits 12 ms by default): the press goes out at once.
    run("xdotool", "key", "--delay", "0", combo)


def dunst_close_all():
    run("dunstctl", "close-all", check=False)


def dunst_default_action():
    """Invokes the default action of the newest notification (dunstrc maps it to `takeover`)."""
    run("dunstctl", "action", "0")
