#!/usr/bin/python3
"""`make bench`: KallyAI Desktop against bench/floor, measured in the same run on the same desktop.

Runs inside scripts/with-desktop. Starts a kallyai-sim, signs the app in by seeding the keychain
entry the app reads (service `ai.kally.desktop`, user = API base, secret = the token JSON), then
measures each metric on the app and, where it applies, on the floor; writes
docs/benchmarks.json and docs/benchmarks.md. Usage:

  scripts/with-desktop /usr/bin/python3 bench/run.py --app BIN --sim BIN --floor BIN [--quick]
      [--only METRIC[,METRIC...]] [--out DIR]

--only runs just the phases those metrics need (the others come out null) and writes its report
to the run's work directory, or --out, never to docs/: a partial report is not the benchmark.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ask, calls, desktop, idle, latency, machine, report, stats, windows  # noqa: E402
from harness.busmon import BusMonitor  # noqa: E402
from harness.sim import Sim, wait_until  # noqa: E402
from harness.subject import Subject  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(REPO, "docs")

# The phase that measures each metric (binary_size_mib is always measured: it takes a second).
# idle, windows, show and calls share one start of the app and the floor, in that order.
PHASE = {
    "cold_start_to_tray_ms": "cold",
    "idle_memory_pss_mib": "idle", "idle_cpu_percent": "idle", "idle_wakeups_per_min": "idle",
    "idle_requests_per_min": "idle",
    "memory_after_windows_pss_mib": "windows",
    "hotkey_to_painted_p95_ms": "show", "hotkey_to_painted_p50_ms": "show",
    "call_to_notification_p95_ms": "calls", "action_to_takeover_p95_ms": "calls",
    "idle_requests_per_min_polling": "polling", "call_to_notification_polling_p95_ms": "polling",
    "ask_overhead_median_ms": "ask",
    "binary_size_mib": None,
}
# The app's windows a user can open (`--show NAME`); the call popup only shows for a call.
SHOWABLE = ("ask", "credits", "settings", "signin", "activity")


NOT_SIGNED_IN = "the app is not signed in: it made no authorised request to the sim after start"


def log(message):
    print(f"[bench {datetime.datetime.now():%H:%M:%S}] {message}", flush=True)


def seed_keychain(api_base, tokens):
    """Writes the entry src-tauri/core/src/auth/keychain.rs reads: service ai.kally.desktop, user
    the API base without a trailing slash, secret {access_token, refresh_token, expires_at}."""
    secret = json.dumps({"access_token": tokens["access_token"], "refresh_token": tokens.get("refresh_token"),
                         "expires_at": int(time.time()) + int(tokens.get("expires_in", 3600))})
    subprocess.run(["secret-tool", "store", "--label", f"keyring:{api_base}@ai.kally.desktop",
                    "service", "ai.kally.desktop", "username", api_base.rstrip("/")],
                   input=secret, text=True, check=True, timeout=10)


def signed_in(sim, timeout):
    """Whether the sim accepted a bearer token from the app (any authorised request, 2xx/304)."""
    return bool(wait_until(lambda: any(r["auth"] and r["status"] < 400 for r in sim.requests()), timeout, 0.2))


# Where the default hotkey is defined: core's settings since the house refactor (issue 14); the
# older places are kept so the harness can measure an older tree.
HOTKEY_SOURCES = ("src-tauri/core/src/settings.rs", "src-tauri/src/settings.rs", "src-tauri/src/hotkey.rs")


def hotkey_combo():
    """The app's default hotkey as xdotool keys: $KALLYAI_BENCH_HOTKEY, else `DEFAULT_HOTKEY` (an
    accelerator such as "CommandOrControl+Alt+K") where core's settings define it."""
    combo = os.environ.get("KALLYAI_BENCH_HOTKEY")
    accelerator = (r'"((?:(?:CmdOrCtrl|CommandOrControl|Control|Ctrl|Alt|Option|Super|Meta|Shift)\+)+'
                   r'[A-Za-z0-9]+)"')
    if not combo:
        for name in HOTKEY_SOURCES:
            path = os.path.join(REPO, name)
            if os.path.exists(path):
                text = open(path).read()
                # `DEFAULT_HOTKEY: &str = "..."` first, else the first accelerator in the file.
                m = re.search(r"DEFAULT_HOTKEY[^=]*=\s*" + accelerator, text) or re.search(accelerator, text)
                if m:
                    combo = m.group(1)
                    break
    if not combo:
        return None
    names = {"cmdorctrl": "ctrl", "commandorcontrol": "ctrl", "control": "ctrl", "ctrl": "ctrl", "alt": "alt",
             "option": "alt", "super": "super", "meta": "super", "shift": "shift", "space": "space"}
    return "+".join(names.get(part.lower(), part.lower()) for part in combo.split("+"))


def poll_interval(requests):
    """The median gap between the app's polls of the live-call list, from the sim's request log."""
    import datetime as dt
    times = [dt.datetime.fromisoformat(x["at"].replace("Z", "+00:00")).timestamp() for x in requests
             if x["method"] == "GET" and x["path"] == "/v1/inbound/calls"]
    gaps = [b - a for a, b in zip(times, times[1:]) if b > a]
    return stats.median(gaps) if gaps else None


def stripped_mib(binary, work):
    copy = os.path.join(work, os.path.basename(binary) + ".stripped")
    subprocess.run(["strip", "-o", copy, binary], check=True)
    return os.path.getsize(copy) / 1024 / 1024


def phases_of(parser, only):
    """The phases to run: all, or those the metrics named in --only need."""
    if not only:
        return set(PHASE.values()) - {None}
    names = [x.strip() for x in only.split(",") if x.strip()]
    unknown = [x for x in names if x not in PHASE]
    if unknown:
        parser.error(f"--only: no metric {', '.join(unknown)}; known: {', '.join(report.TARGETS)}")
    return {PHASE[x] for x in names} - {None}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", required=True)
    parser.add_argument("--sim", required=True)
    parser.add_argument("--floor", required=True)
    parser.add_argument("--out", help="where to write benchmarks.json and .md (default docs/; with --only, the "
                                      "run's work directory)")
    parser.add_argument("--quick", action="store_true", help="few trials, short windows (to try the harness)")
    parser.add_argument("--only", metavar="METRIC[,METRIC]", help="measure only these metrics (a partial run)")
    args = parser.parse_args()
    phases = phases_of(parser, args.only)
    if args.only and args.out and os.path.realpath(args.out) == os.path.realpath(DOCS):
        parser.error("--only: a partial run does not write docs/; leave --out out or name another directory")
    q = args.quick
    plan = {
        "cold_trials": 3 if q else 10, "show_trials": 5 if q else 30, "rings": 3 if q else 20,
        "actions": 3 if q else 20, "asks": 3 if q else 30, "settle_s": 10 if q else 40,
        "idle_window_s": 10 if q else 60, "sample_every_s": 5 if q else 10,
        "polling_settle_s": 5 if q else 15, "polling_window_s": 10 if q else 60,
        "windows_wait_s": 10 if q else 30, "windows_samples": 3 if q else 5, "windows_every_s": 2 if q else 5,
    }
    began = time.time()
    work = tempfile.mkdtemp(prefix="kallyai-bench-")
    out = args.out or (work if args.only else DOCS)
    labels = json.load(open(os.path.join(REPO, "ui", "i18n", "en.json")))
    rev, dirty = machine.git(REPO)
    binaries = {name: machine.fingerprint(path) for name, path in
                (("app", args.app), ("sim", args.sim), ("floor", args.floor))}
    log(f"revision {rev[:10]}{' (dirty)' if dirty else ''}; work files in {work}")

    busmon = BusMonitor(os.path.join(work, "bus.log"))
    sim = Sim(args.sim, os.path.join(work, "sim.log"))
    tokens = sim.session()
    seed_keychain(sim.url, tokens)
    app = Subject("app", args.app, ["--api-base", sim.url], {"KALLYAI_LOG": "info"}, work,
                  quit_label=labels["tray.quit"], show_label=labels["tray.ask"], window_label="ask",
                  window_title=labels["window.ask"])
    floor = Subject("floor", args.floor, [], {}, work, quit_label="Quit", show_label="Show", window_label="floor",
                    window_title="floor", logs_shown_before_show=True)
    r = {"plan": plan, "notes": {}, "supplementary": {}, "signed_in": None}
    if args.only:
        r["notes"]["partial"] = (f"A partial run (--only {args.only}; phases {', '.join(sorted(phases))}): "
                                 "the other metrics were not measured.")
    try:
        if "cold" in phases:
            log("cold start to tray")
            r["cold"] = {s.name: latency.cold_start(s, busmon, plan["cold_trials"]) for s in (floor, app)}

        if phases & {"idle", "windows", "show", "calls"}:
            log("idle: app (event stream on) and floor side by side")
            started = app.start()
            floor.start()
            app.wait_tray()
            floor.wait_tray()
            r["signed_in"] = signed_in(sim, 15)
            log(f"app signed in: {r['signed_in']}")
            if "idle" in phases:
                r["idle"], requests, window = idle.measure([app, floor], sim, started, plan["settle_s"],
                                                           plan["idle_window_s"], plan["sample_every_s"])
                r["idle_requests"] = {"count": len(requests), "window_s": window,
                                      "paths": sorted({f"{x['method']} {x['path']}" for x in requests})}

            if "windows" in phases:
                log("memory after every window was opened and closed")
                time.sleep(max(0.0, started + plan["settle_s"] - time.time()))
                r["after_windows"] = windows.measure([
                    (app, [(name, labels[f"window.{name}"]) for name in SHOWABLE], windows.show_with_launch,
                     latency.hide_with_escape),
                    (floor, [(floor.window_label, floor.window_title)], windows.show_with_tray,
                     latency.hide_with_tray),
                ], plan["windows_wait_s"], plan["windows_samples"], plan["windows_every_s"])

            if "show" in phases:
                log("tray menu to painted window")
                r["tray_show"] = {
                    "app": latency.tray_show(app, busmon, plan["show_trials"], latency.hide_with_escape),
                    "floor": latency.tray_show(floor, busmon, plan["show_trials"], latency.hide_with_tray),
                }
                combo = hotkey_combo()
                if combo:
                    log(f"hotkey {combo} to painted window")
                    r["hotkey"] = latency.hotkey(app, combo, plan["show_trials"], latency.hide_with_escape)
                else:
                    r["hotkey"] = (None, "no default hotkey found in " + ", ".join(HOTKEY_SOURCES) + " "
                                         "(the app registers no global hotkey yet)", [])
            floor.stop()

            if "calls" in phases:
                if r["signed_in"]:
                    log("call to notification (event stream)")
                    r["notify_stream"] = calls.ring_to_notify(app, sim, busmon, plan["rings"], 15)
                    log("notification action to takeover")
                    r["takeover"] = calls.action_to_takeover(app, sim, busmon, plan["actions"], 15)
                else:
                    r["notify_stream"] = (None, NOT_SIGNED_IN)
                    r["takeover"] = (None, NOT_SIGNED_IN, [])
            app.stop()

        if "polling" in phases:
            log("idle requests with polling (event stream off in the sim)")
            sim.set_stream(False)
            started = app.start()
            app.wait_tray()
            if r["signed_in"] is None:
                r["signed_in"] = signed_in(sim, 15)
            time.sleep(max(0.0, started + plan["polling_settle_s"] - time.time()))
            sim.clear_requests()
            t0 = time.time()
            time.sleep(plan["polling_window_s"])
            polled = sim.requests()
            r["polling_requests"] = {"count": len(polled), "window_s": time.time() - t0,
                                     "paths": sorted({f"{x['method']} {x['path']}" for x in polled})}
            interval = poll_interval(polled)
            r["polling_requests"]["calls_poll_interval_s"] = interval
            if r["signed_in"]:
                log("call to notification (polling)")
                r["notify_polling"] = calls.ring_to_notify(app, sim, busmon, plan["rings"], 60, interval or 15)
            else:
                r["notify_polling"] = (None, NOT_SIGNED_IN)
            app.stop()
            sim.set_stream(True)

        if "ask" in phases:
            if r["signed_in"] is not False:
                log("ask overhead (WebDriver)")
                # WebKitWebDriver sometimes drops a new session in this desktop (seen only after the other
                # phases, never on a fresh desktop): up to three sessions, each after the last app is gone.
                for attempt in range(3):
                    try:
                        r["ask"] = ask.measure(args.app, ["--api-base", sim.url], sim, tokens["access_token"],
                                               plan["asks"], "What is on my calendar today?", labels["tray.ask"])
                    except (OSError, RuntimeError, ValueError) as error:
                        r["ask"] = (None, f"the WebDriver session failed {attempt + 1} times, last: {error}", {})
                        log(f"ask attempt {attempt + 1}: {error}")
                        wait_until(lambda: not ask.app_running(args.app), 15, 0.2)
                        continue
                    break
            else:
                r["ask"] = (None, NOT_SIGNED_IN, {})

        r["binary_mib"] = {"app": stripped_mib(args.app, work), "floor": stripped_mib(args.floor, work)}
    finally:
        for s in (app, floor):
            try:
                s.stop()
            except Exception as error:  # noqa: BLE001
                log(f"stopping {s.name}: {error}")
        sim.stop()
        busmon.stop()

    r["duration_s"] = time.time() - began
    r["machine"] = machine.describe(REPO)
    r["git_revision"], r["git_dirty"] = rev, dirty
    r["binaries"] = binaries
    r["date"] = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    result = report.build(r)
    report.write(result, out)
    log(f"done in {r['duration_s']:.0f} s; wrote {out}/benchmarks.json and .md")
    shutil.copy(os.path.join(work, "bus.log"), os.path.join(work, "bus.log.keep"))
    print(report.summary(result))


if __name__ == "__main__":
    main()
