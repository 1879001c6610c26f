"""Ask overhead: the app's ask path (Enter in the quick-ask box to the reply in its DOM, timed in
the page with performance.now()) minus the same request sent straight to the sim."""
import http.client
import json
import os
import time
import urllib.parse
import urllib.request
import uuid

from . import desktop, stats
from .timelog import TimeLog

# Runs in the ask page: types the question, presses Enter, resolves with the milliseconds until
# a DOM mutation inserts the reply text (a MutationObserver sees it).
ASK_SCRIPT = """
const [question, expected, done] = arguments;
const input = document.activeElement && /INPUT|TEXTAREA/.test(document.activeElement.tagName)
  ? document.activeElement : document.querySelector('textarea, input[type=text], input:not([type])');
if (!input) { done({error: 'no input in the ask page'}); return; }
input.focus();
input.value = question;
input.dispatchEvent(new Event('input', {bubbles: true}));
let finished = false;
const finish = (value) => { if (!finished) { finished = true; observer.disconnect(); done(value); } };
// The box replaces its answer in place, and the same question gets the same reply: look at what
// each mutation inserts, not at how often the text is on the page.
const inserted = (record) => record.type === 'characterData'
  ? record.target.data
  : Array.from(record.addedNodes, (node) => node.textContent || '').join(' ');
let start = 0;
const observer = new MutationObserver((records) => {
  if (records.some((record) => inserted(record).includes(expected))) finish({ms: performance.now() - start});
});
// Enter comes as a user's would: after the typed text is on screen. Set and pressed in one task,
// the press would wait for the text's paint (a blocking X round trip on this Xvfb), which no
// typing user meets: a person presses Enter well after the last letter showed.
setTimeout(() => {
  observer.observe(document.body, {subtree: true, childList: true, characterData: true});
  start = performance.now();
  input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', code: 'Enter', bubbles: true, cancelable: true}));
}, 50);
setTimeout(() => finish({error: 'no reply in the page within 10 s'}), 10000);
"""


class WebDriver:
    def __init__(self, url):
        self.url = url
        self.session = None

    def call(self, method, path, body=None, timeout=30):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}").get("value")

    def start(self, binary, args):
        caps = {"capabilities": {"alwaysMatch": {"browserName": "wry",
                                                 "tauri:options": {"application": binary, "args": args}}}}
        for attempt in range(3):  # tauri-driver sometimes drops the first new-session request
            try:
                self.session = self.call("POST", "/session", caps, timeout=60)["sessionId"]
                return
            except OSError:
                if attempt == 2:
                    raise
                time.sleep(1)

    def s(self, method, path, body=None, timeout=30):
        # WebKitWebDriver now and then drops a connection (seen on window switches); those calls
        # are safe to repeat. Scripts are not repeated.
        for attempt in range(4):
            try:
                return self.call(method, f"/session/{self.session}{path}", body, timeout)
            except (ConnectionError, http.client.HTTPException):
                if attempt == 3 or path.startswith("/execute"):
                    raise
                time.sleep(0.5)

    def stop(self):
        if self.session:
            try:
                self.s("DELETE", "", timeout=15)
            except OSError:
                pass


def direct_ask(sim_url, token, question, conversation_id):
    """The same request the app sends, over one kept-alive connection like the app's client."""
    parsed = urllib.parse.urlparse(sim_url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    body = {"message": question}
    if conversation_id:
        body["conversation_id"] = conversation_id
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
               "Idempotency-Key": str(uuid.uuid4())}
    conn.request("POST", "/v1/coordination/message", json.dumps(body), headers)  # warm the connection
    first = json.loads(conn.getresponse().read())
    return conn, first


def reply_text(payload):
    data = payload.get("data", payload) if isinstance(payload, dict) else {}
    return data.get("response") or data.get("message") or ""


def measure(app_binary, app_args, sim, token, trials, question, ask_label):
    driver_url = os.environ.get("TAURI_DRIVER_URL")
    if not driver_url:
        return None, "no WebDriver (TAURI_DRIVER_URL unset)", {}
    conn, first = direct_ask(sim.url, token, question, None)
    expected = reply_text(first)[:24]
    if not expected:
        return None, f"the sim's reply to {question!r} has no text", {}
    conversation = (first.get("data", first) or {}).get("conversation_id")
    driver = WebDriver(driver_url)
    app_ms, direct_ms = [], []
    try:
        driver.start(app_binary, app_args)
        # Handles are opaque ("page-<uuid>"): the ask box is the one showing ask.html.
        for handle in driver.s("GET", "/window/handles"):
            driver.s("POST", "/window", {"handle": handle})
            if "ask.html" in (driver.s("GET", "/url") or ""):
                break
        else:
            return None, "no window of the app shows ask.html", {}
        app_pid = _app_pid(app_binary)
        # The app's stderr goes to tauri-driver's log: wait there for the box's painted report.
        driver_log = TimeLog(os.path.join(os.environ.get("KALLYAI_TEST_DESKTOP", "/nonexistent"),
                                          "tauri-driver.log"))
        driver_log.mark()
        desktop.tray_item_of(app_pid).click(ask_label)
        driver_log.wait_for('window painted window="ask"', 10)
        failures = 0
        k = 0
        while k <= trials:
            try:
                result = driver.s("POST", "/execute/async", {"script": ASK_SCRIPT, "args": [question, expected]},
                                  timeout=40)
            except (ConnectionError, http.client.HTTPException) as error:
                # WebKitWebDriver sometimes drops the first script of a session (the session lives
                # on): a failed trial, like a page that gave no answer; never timed.
                result = {"error": f"the WebDriver connection dropped: {error}"}
            if not result or "ms" not in result:
                failures += 1
                if failures > 2:
                    return None, (result or {}).get("error", "the ask page gave no answer"), {}
                continue
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                       "Idempotency-Key": str(uuid.uuid4())}
            body = {"message": question, **({"conversation_id": conversation} if conversation else {})}
            t0 = time.perf_counter()
            conn.request("POST", "/v1/coordination/message", json.dumps(body), headers)
            conn.getresponse().read()
            direct = (time.perf_counter() - t0) * 1000
            if k > 0:
                app_ms.append(result["ms"])
                direct_ms.append(direct)
            k += 1
    finally:
        driver.stop()
        conn.close()
    overhead = stats.median(app_ms) - stats.median(direct_ms)
    return overhead, None, {"app_median_ms": stats.median(app_ms), "direct_median_ms": stats.median(direct_ms),
                            "app_ms": app_ms, "direct_ms": direct_ms}


def app_running(binary):
    try:
        _app_pid(binary)
        return True
    except RuntimeError:
        return False


def _app_pid(binary):
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/exe") == binary:
                    return int(entry)
            except OSError:
                pass
    raise RuntimeError("the app WebDriver started is not running")
