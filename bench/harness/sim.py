"""The local KallyAI (kallyai-sim) for the run: started on a free port, driven through /_sim/."""
import json
import subprocess
import time
import urllib.request

from .timelog import TimeLog


class Sim:
    def __init__(self, binary, log_path):
        # Request lines at debug level carry a microsecond timestamp: the moment a request
        # reached the sim (the request log's `at` has whole seconds only).
        env = {"RUST_LOG": "info,kallyai_sim::reqlog=debug", "PATH": "/usr/bin:/bin"}
        self.log = TimeLog(log_path)
        self.proc = subprocess.Popen([binary, "--addr", "127.0.0.1:0", "--seed", "demo"], env=env,
                                     stdout=subprocess.PIPE, stderr=open(log_path, "w"), text=True)
        first = self.proc.stdout.readline().strip()
        if not first.startswith("listening on "):
            raise RuntimeError(f"kallyai-sim did not start: {first!r}")
        self.url = first.removeprefix("listening on ")

    def call(self, method, path, body=None, token=None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def session(self):
        """A signed-in token triple for the seeded user, minted without a browser."""
        return self.call("POST", "/_sim/session", {})

    def requests(self):
        return self.call("GET", "/_sim/requests")["requests"]

    def clear_requests(self):
        self.call("DELETE", "/_sim/requests")

    def set_stream(self, enabled):
        self.call("POST", "/_sim/stream", {"enabled": enabled})

    def ring(self, n):
        return self.call("POST", "/_sim/calls/ring", {
            "caller_number": f"+1555010{n:04d}", "caller_name": f"Bench caller {n}",
            "summary": "Benchmark call", "line_interval_ms": 60000,
        })

    def end_call(self, ring):
        call_id = ring.get("id") or ring.get("call_id")
        try:
            self.call("POST", f"/_sim/calls/{call_id}/end", {"outcome": "completed"})
        except urllib.error.HTTPError as error:
            if error.code != 409:  # already over (taken over or rejected): fine
                raise

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wait_until(condition, timeout, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    return None
