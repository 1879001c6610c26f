"""A program under measurement (the app or the floor): started with its stderr in a file, asked
to quit the way a user would (tray Quit), killed only if it will not go."""
import os
import subprocess
import time

from . import desktop, procs
from .timelog import TimeLog


class Subject:
    def __init__(self, name, binary, args, env, log_dir, quit_label, show_label, window_label, window_title,
                 logs_shown_before_show=False):
        self.name = name
        self.binary = binary
        self.args = args
        self.env = env
        self.log_dir = log_dir
        self.quit_label = quit_label
        self.show_label = show_label
        self.window_label = window_label
        self.window_title = window_title
        # Whether its `window shown` line is written just before show() (the floor), so that
        # show()→painted can be read from its log; the app logs it after show().
        self.logs_shown_before_show = logs_shown_before_show
        self.proc = None
        self.log = None
        self.runs = 0
        self.tray = None

    def start(self):
        self.runs += 1
        path = os.path.join(self.log_dir, f"{self.name}-{self.runs}.log")
        self.log = TimeLog(path)
        spawned = time.time()
        self.proc = subprocess.Popen([self.binary, *self.args], env={**os.environ, **self.env},
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(path, "w"))
        self.tray = None
        return spawned

    @property
    def pid(self):
        return self.proc.pid

    def wait_tray(self, timeout=30):
        self.tray = desktop.tray_item_of(self.pid, timeout)
        return self.tray

    def launch_again(self, *args, timeout=15):
        """Runs the binary a second time with the running one's environment, as a user's command
        line would: the single-instance plugin hands `args` to the running process and this one
        exits. Its output is kept in the subject's log directory."""
        path = os.path.join(self.log_dir, f"{self.name}-{self.runs}-second-launch.log")
        with open(path, "a") as log:
            try:
                code = subprocess.run([self.binary, *args], env={**os.environ, **self.env}, stdin=subprocess.DEVNULL,
                                      stdout=log, stderr=log, timeout=timeout).returncode
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"{self.name}: a second launch with {' '.join(args)} did not exit within "
                                   f"{timeout} s (see {path})") from None
        if code != 0:
            raise RuntimeError(f"{self.name}: a second launch with {' '.join(args)} exited with {code} (see {path})")

    def processes(self):
        return procs.tree(self.pid)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        family = self.processes()
        try:
            (self.tray or self.wait_tray(5)).click(self.quit_label)
            self.proc.wait(timeout=10)
        except Exception:  # noqa: BLE001 - whatever went wrong, do not leave it running
            self.proc.kill()
            self.proc.wait(timeout=10)
        # Its WebKit children exit with it; wait so the next start does not overlap them.
        deadline = time.time() + 10
        while time.time() < deadline and any(procs.alive(pid) for pid in family):
            time.sleep(0.05)
