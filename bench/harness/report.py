"""docs/benchmarks.json and docs/benchmarks.md from one run's raw results."""
import json
import os

from . import stats

# Metric key → (unit, target as (what, bound) or None). "ratio" targets bound app/floor. The
# targets are issue 15's; its hotkey target also asks for ≤ 1.5 × the floor's show() p95, which
# the report shows as the ratio.
TARGETS = {
    "idle_memory_pss_mib": ("MiB", ("ratio", 1.25)),
    "memory_after_windows_pss_mib": ("MiB", ("ratio", 1.5)),
    "idle_cpu_percent": ("% of one core", ("app", 0.15)),
    "idle_wakeups_per_min": ("wake-ups/min", ("ratio", 2)),
    "idle_requests_per_min": ("requests/min", ("app", 4)),
    "idle_requests_per_min_polling": ("requests/min", ("app", 22)),
    "hotkey_to_painted_p95_ms": ("ms", ("app", 30)),
    "hotkey_to_painted_p50_ms": ("ms", None),
    "call_to_notification_p95_ms": ("ms", ("app", 1000)),
    "call_to_notification_polling_p95_ms": ("ms", ("app", 3000)),
    "action_to_takeover_p95_ms": ("ms", ("app", 50)),
    "ask_overhead_median_ms": ("ms", ("app", 3)),
    "cold_start_to_tray_ms": ("ms", ("ratio", 1.5)),
    "binary_size_mib": ("MiB", None),
}

METHODS = {
    "idle_memory_pss_mib": "Sum of `Pss:` from `/proc/PID/smaps_rollup` over the process and every descendant "
    "(WebKitWebProcess, WebKitNetworkProcess), sampled every 10 s over a 60 s idle window that starts 40 s after "
    "the spawn (10 s start + 30 s idle); the median sample is reported, n = samples. App and floor run side by "
    "side on the same desktop, no window shown yet, the app signed in against the sim with its event stream on.",
    "memory_after_windows_pss_mib": "PSS as for `idle_memory_pss_mib`, once every window has been opened and "
    "closed again, on the same processes right after the idle window. The app shows each window with a second "
    "launch, `kallyai-desktop --show NAME` (ask, credits, settings, signin, activity, one after the other; same "
    "environment, the single-instance plugin hands it to the running app); the harness waits until `xwininfo "
    "-name TITLE` reports it viewable and the page has logged its painted frame, then Esc closes it "
    "(ui/js/common.js: the app keeps the quick-ask box loaded and hidden, and destroys every other window with its "
    "page) and the harness waits until it is no longer viewable. The floor's one window is shown and "
    "hidden with its tray's Show and Hide. From 30 s after each one's last window was hidden, 5 samples 5 s "
    "apart; the median is reported, n = samples. The incoming-call popup is left out: it only shows while a call "
    "is being screened.",
    "idle_cpu_percent": "utime + stime from `/proc/PID/stat` (all threads) of the same process trees, difference "
    "over the same 60 s window, as % of one core (clock ticks of 10 ms, so the resolution is 0.017 %). n = windows.",
    "idle_wakeups_per_min": "`voluntary_ctxt_switches` + `nonvoluntary_ctxt_switches` from "
    "`/proc/PID/task/TID/status`, summed over every thread of the same process trees (a sleeping thread is "
    "switched out once per wake-up), difference over the same 60 s window, per minute. A thread started in "
    "the window counts from 0; one that ended in it is lost (the kernel keeps no count for a thread that is "
    "gone; benchmarks.json says how many ended). The ten threads that woke most, named from "
    "`/proc/PID/task/TID/comm`, are in `supplementary.idle_wakeups_by_thread`. n = windows.",
    "idle_requests_per_min": "Requests in the sim's request log (`GET /_sim/requests`, cleared at the window's "
    "start) during the 60 s idle window, event stream on (the open SSE request counts once, when it is made).",
    "idle_requests_per_min_polling": "The same with the sim's stream switched off (`POST /_sim/stream "
    "{enabled:false}`) before the app starts, so its watcher polls; the window starts 15 s after the spawn.",
    "hotkey_to_painted_p95_ms": "`xdotool key` with the app's default hotkey (time taken just before xdotool "
    "runs, so xdotool's own start-up and the X server's delivery are included) to the quick-ask page's report of its second "
    "`requestAnimationFrame` after `visibilitychange` (the app logs `window painted window=\"ask\"`; its tracing "
    "timestamp, wall clock in µs, is the end). A second press hides the box; one warm-up press, then 30 trials. "
    "Reference: the floor's `show()` (its log line just before the call) to the same page signal, 30 trials "
    "after a warm-up.",
    "hotkey_to_painted_p50_ms": "As above, the median.",
    "call_to_notification_p95_ms": "`POST /_sim/calls/ring` (time taken just before the request) to the app's "
    "`org.freedesktop.Notifications.Notify` call naming that ring's caller, as the bus delivers it (`dbus-monitor` "
    "timestamp), event stream on; each call is then ended and its notification withdrawn before the next; "
    "20 rings.",
    "call_to_notification_polling_p95_ms": "The same with the sim's event stream off (the app polls); before each ring the harness waits a random "
    "part of the app's polling interval (read from the request log), so rings fall at every phase of the "
    "polling cycle; 20 rings.",
    "action_to_takeover_p95_ms": "`dunstctl action 0` invokes the notification's default action, which "
    "scripts/desktop/dunstrc maps to `takeover`; from dunst's `ActionInvoked` signal on the bus (dbus-monitor "
    "timestamp) to the `POST /v1/inbound/calls/{id}/takeover` line in the sim's request log on stderr "
    "(tracing timestamp in µs; the JSON request log's `at` has whole seconds only); 20 trials. dbus-monitor "
    "can see the signal a scheduling slice after the app does, so single trials can come out slightly "
    "negative: differences under ~1 ms are within the method's noise (see the upper bound below).",
    "ask_overhead_median_ms": "In the quick-ask page (driven through tauri-driver), a script sets the question, "
    "waits 50 ms so the text is on screen (as a user's typing is before Enter; set and pressed in one task, the press "
    "waited for the text's paint, an X round trip of ~3 ms on this Xvfb), dispatches Enter and times with `performance.now()` (WebKit coarsens it to about 1 ms) until a DOM "
    "mutation inserts the reply's text (MutationObserver); minus the median of the same `POST /v1/coordination/message` body sent straight to "
    "the sim over a kept-alive connection with the same bearer token; 30 trials each after a warm-up, medians.",
    "cold_start_to_tray_ms": "Process spawn (time taken just before the fork) to its `RegisterStatusNotifierItem` "
    "call on the bus (dbus-monitor timestamp; the sender's PID must be the new process); tray Quit between "
    "starts, the WebKit children waited for; one warm-up start, then 10 (median reported, warm page cache).",
    "binary_size_mib": "The release binary (`[profile.release]` with `strip = true`, thin LTO, panic = abort, "
    "identical in both), run through `strip` again to be sure; MiB = 2^20 bytes.",
}


def _metric(app, reference, unit, n, note=None, digits=1):
    app = None if app is None else round(app, digits)
    reference = None if reference is None else round(reference, digits)
    ratio = round(app / reference, 2) if app is not None and reference else None
    out = {"app": app, "reference": reference, "ratio": ratio, "unit": unit, "n": n}
    if note:
        out["note"] = note
    return out


NOT_RUN = "not measured: this was a partial run (bench/run.py --only)"


def build(r):
    """The report's figures from one run's results. A phase a partial run left out (`--only`) has
    None for its results: its metrics come out null, saying so."""
    m = {}
    notes = dict(r["notes"])
    idle = r.get("idle")
    if idle:
        idle_app, idle_floor = idle["app"], idle["floor"]
        m["idle_memory_pss_mib"] = _metric(idle_app["pss_mib"], idle_floor["pss_mib"], "MiB",
                                           len(idle_app["pss_samples_mib"]))
        m["idle_cpu_percent"] = _metric(idle_app["cpu_percent"], idle_floor["cpu_percent"], "% of one core", 1,
                                        digits=3)
        if not idle_floor["cpu_ticks"]:
            m["idle_cpu_percent"]["note"] = ("the floor used no measurable CPU (0 ticks of 10 ms), so there is "
                                             "no ratio")
        wake_app, wake_floor = idle_app["wakeups"], idle_floor["wakeups"]
        m["idle_wakeups_per_min"] = _metric(wake_app["per_min"], wake_floor["per_min"], "wake-ups/min", 1)
        m["idle_wakeups_per_min"]["window_s"] = round(wake_app["window_s"], 1)
    after = r.get("after_windows")
    if after:
        a, f = after["app"], after["floor"]
        why = "; ".join(x["why"] for x in after.values() if x.get("why")) or None
        m["memory_after_windows_pss_mib"] = _metric(a["pss_mib"], f["pss_mib"], "MiB",
                                                    len(a.get("pss_samples_mib", [])), why)
    if r["signed_in"] is False:
        notes["signed_in"] = ("The app did not sign in: this build has no stored-session sign-in, so every "
                              "figure is for the app signed out (no watcher, no event stream, no polling).")
    for key, data in (("idle_requests_per_min", r.get("idle_requests")),
                      ("idle_requests_per_min_polling", r.get("polling_requests"))):
        if data:
            m[key] = _metric(data["count"] / (data["window_s"] / 60), None, "requests/min", 1)
            m[key]["window_s"] = round(data["window_s"], 1)

    tray_show, hotkey = r.get("tray_show"), r.get("hotkey")
    floor_show = tray_show["floor"][1] if tray_show else []
    hot, hot_inside = [], []
    if hotkey:
        hot, why, hot_inside = (list(hotkey) + [[]])[:3]
        for suffix, p in (("p95", 95), ("p50", 50)):
            m[f"hotkey_to_painted_{suffix}_ms"] = _metric(stats.percentile(hot, p) if hot else None,
                                                          stats.percentile(floor_show, p), "ms",
                                                          len(hot) if hot else 0, why)
    takeover = r.get("takeover")
    for key, result in (("call_to_notification_p95_ms", r.get("notify_stream")),
                        ("call_to_notification_polling_p95_ms", r.get("notify_polling")),
                        ("action_to_takeover_p95_ms", takeover and takeover[:2])):
        if result:
            values, why = result
            m[key] = _metric(stats.percentile(values, 95) if values else None, None, "ms",
                             len(values) if values else 0, why)
    detail = None
    if r.get("ask"):
        overhead, why, detail = r["ask"]
        m["ask_overhead_median_ms"] = _metric(overhead, None, "ms", len(detail.get("app_ms", [])), why, digits=2)
    cold = r.get("cold")
    if cold:
        m["cold_start_to_tray_ms"] = _metric(stats.median(cold["app"]), stats.median(cold["floor"]), "ms",
                                             len(cold["app"]))
    m["binary_size_mib"] = _metric(r["binary_mib"]["app"], r["binary_mib"]["floor"], "MiB", 1, digits=2)
    m = {key: m.get(key) or _metric(None, None, TARGETS[key][0], 0, NOT_RUN) for key in TARGETS}

    supplementary = {}
    if tray_show:
        app_tray, _ = tray_show["app"]
        floor_tray, _ = tray_show["floor"]
        for suffix, p in (("p50", 50), ("p95", 95)):
            supplementary[f"tray_menu_to_painted_{suffix}_ms"] = _metric(
                stats.percentile(app_tray, p), stats.percentile(floor_tray, p), "ms", len(app_tray))
    if hotkey:
        for suffix, p in (("p50", 50), ("p95", 95)):
            supplementary[f"hotkey_received_to_painted_{suffix}_ms"] = _metric(
                stats.percentile(hot_inside, p), stats.percentile(floor_show, p), "ms", len(hot_inside))
    if cold:
        supplementary["cold_start_to_tray_p95_ms"] = _metric(stats.percentile(cold["app"], 95),
                                                             stats.percentile(cold["floor"], 95), "ms",
                                                             len(cold["app"]))
    if takeover:
        supplementary["dunstctl_to_takeover_p95_ms"] = _metric(stats.percentile(takeover[2], 95), None, "ms",
                                                               len(takeover[2]))
    if idle:
        supplementary.update({
            "idle_processes": {"app": idle_app["processes"], "floor": idle_floor["processes"]},
            "idle_pss_samples_mib": {"app": idle_app["pss_samples_mib"], "floor": idle_floor["pss_samples_mib"]},
            "idle_pss_by_process_mib": {"app": idle_app.get("pss_by_process_mib"),
                                        "floor": idle_floor.get("pss_by_process_mib")},
            "idle_cpu_ticks": {"app": idle_app["cpu_ticks"], "floor": idle_floor["cpu_ticks"],
                               "window_s": round(idle_app["window_s"], 1)},
            # Which threads wake: the ten that woke most in the idle window, per subject.
            "idle_wakeups_by_thread": {name: {"wakeups": x["count"], "threads": x["threads"],
                                              "threads_ended": x["threads_ended"], "top": x["top_threads"]}
                                       for name, x in (("app", wake_app), ("floor", wake_floor))},
        })
    if after:
        supplementary["after_windows"] = {
            name: {k: x[k] for k in ("windows", "pss_samples_mib", "processes", "pss_by_process_mib", "wait_s",
                                     "why") if k in x}
            for name, x in after.items()}
    if r.get("idle_requests"):
        supplementary["idle_request_paths"] = r["idle_requests"]["paths"]
    if r.get("polling_requests"):
        supplementary["polling_request_paths"] = r["polling_requests"]["paths"]
    if detail:
        supplementary["ask"] = {k: (round(v, 2) if isinstance(v, (int, float)) else [round(x, 2) for x in v])
                                for k, v in detail.items()}
    raw = {}
    if cold:
        raw["cold_start_ms"] = cold
    if tray_show:
        raw["tray_menu_to_painted_ms"] = {"app": app_tray, "floor": floor_tray}
        raw["floor_show_to_painted_ms"] = floor_show
    if hotkey:
        raw["hotkey_to_painted_ms"] = hot
    for name in ("notify_stream", "notify_polling", "takeover"):
        if r.get(name):
            raw[name + "_ms"] = r[name][0]
    if takeover:
        raw["dunstctl_to_takeover_ms"] = takeover[2]
    raw = {k: ({kk: [round(x, 2) for x in vv] for kk, vv in v.items()} if isinstance(v, dict)
               else (None if v is None else [round(x, 2) for x in v])) for k, v in raw.items()}
    return {
        **m,
        "signed_in": r["signed_in"],
        "date": r["date"],
        "git_revision": r["git_revision"],
        "git_dirty": r["git_dirty"],
        "machine": r["machine"],
        "binaries": r.get("binaries"),
        "duration_s": round(r["duration_s"]),
        "notes": notes,
        "supplementary": supplementary,
        "raw_ms": raw,
    }


def _target_text(key):
    target = TARGETS[key][1]
    if target is None:
        return "—"
    what, bound = target
    return f"ratio ≤ {bound}" if what == "ratio" else f"≤ {bound}"


def _met(key, metric):
    target = TARGETS[key][1]
    if target is None:
        return ""
    what, bound = target
    value = metric["ratio"] if what == "ratio" else metric["app"]
    if value is None:
        return "not measured"
    return "met" if value <= bound else "missed"


def _fmt(value):
    return "null" if value is None else f"{value:g}"


def summary(result):
    rows = [f"{'metric':40} {'app':>10} {'floor':>10} {'ratio':>6}  n   target"]
    for key in TARGETS:
        mt = result[key]
        rows.append(f"{key:40} {_fmt(mt['app']):>10} {_fmt(mt['reference']):>10} {_fmt(mt['ratio']):>6} "
                    f"{mt['n']:>3}   {_target_text(key)} {_met(key, mt)}")
    return "\n".join(rows)


def _signed_in_text(signed_in):
    return {True: "yes", False: "**no**"}.get(signed_in, "not checked (a partial run)")


def _by_process(pairs):
    return ", ".join(f"{n} {v:g}" for n, v in pairs or [])


def _paths(paths):
    return "not measured" if paths is None else ", ".join(paths) or "none"


def _idle_details(sup):
    """Where the idle figures come from: processes, samples, requests, PSS by process, the threads
    that woke most. Nothing for a partial run that left the idle phase out."""
    lines = []
    if "idle_processes" in sup:
        lines += [
            f"Idle processes: app {', '.join(sup['idle_processes']['app'])}; floor "
            f"{', '.join(sup['idle_processes']['floor'])}. PSS samples (MiB): app "
            f"{sup['idle_pss_samples_mib']['app']}, floor {sup['idle_pss_samples_mib']['floor']}. Requests while idle: "
            f"{', '.join(sup.get('idle_request_paths', [])) or 'none'}; with polling: "
            f"{_paths(sup.get('polling_request_paths'))}.",
            "",
            "PSS by process at the last idle sample (MiB): app " + _by_process(sup["idle_pss_by_process_mib"]["app"])
            + "; floor " + _by_process(sup["idle_pss_by_process_mib"]["floor"]) + ".",
            "",
        ]
    wake = sup.get("idle_wakeups_by_thread")
    if wake:
        def top(x):
            return ", ".join(f"{t['process']}/{t['thread']}{' (main)' if t.get('tid') == t['pid'] else ''} "
                             f"{t['wakeups_per_min']:g}" for t in x["top"][:5])
        lines += [f"Threads that woke most while idle (wake-ups/min; process/thread): app {top(wake['app'])}; "
                  f"floor {top(wake['floor'])}. The ten of each are in benchmarks.json.", ""]
    return lines


def _after_windows_details(sup):
    after = sup.get("after_windows")
    if not after or "pss_samples_mib" not in after.get("app", {}):
        return []
    app, floor = after["app"], after.get("floor", {})
    return [
        "After every window was opened and closed: PSS samples (MiB) app " + str(app["pss_samples_mib"])
        + ", floor " + str(floor.get("pss_samples_mib") or floor.get("why")) + "; by process at the last sample: app "
        + _by_process(app.get("pss_by_process_mib")) + "; floor " + _by_process(floor.get("pss_by_process_mib"))
        + ". Windows shown (ms until viewable): "
        + ", ".join(f"{w['window']} {w['viewable_ms']:g}" + ("" if w["painted"] else " (no painted report)")
                    for w in app["windows"]) + ".",
        "",
    ]


def markdown(result):
    mach = result["machine"]
    lines = [
        "# Benchmarks: KallyAI Desktop against a bare Tauri tray app",
        "",
        "Written by `make bench` (bench/run.py); do not edit by hand. The reference (\"floor\") is "
        "[bench/floor](../bench/floor): a bare Tauri 2 tray app with the same Tauri version and release profile, a "
        "tray icon, one hidden pre-created window with a static page and nothing else. Both are measured in the "
        "same run on the same headless desktop, so ratios hold where absolute figures drift between machines.",
        "",
        f"- Date: {result['date']}; revision `{result['git_revision']}`"
        + (" (with uncommitted changes in the tree)" if result["git_dirty"] else "")
        + f"; the run took {result['duration_s']} s (measurements only, after the builds).",
        f"- Machine: {mach['cpu']}, {mach['cores']} cores, {mach['memory_gib']} GiB; {mach['os']}, kernel "
        f"{mach['kernel']}; WebKitGTK {mach['webkitgtk']}; {mach['rustc']}; tauri {mach['tauri']}, wry {mach['wry']}.",
        f"- Desktop: {mach['display']}.",
        f"- App signed in: {_signed_in_text(result['signed_in'])}.",
    ]
    for note in result["notes"].values():
        lines.append(f"- {note}")
    lines += ["", "| metric | app | floor | ratio | unit | n | target | |", "|---|---|---|---|---|---|---|---|"]
    for key in TARGETS:
        mt = result[key]
        lines.append(f"| `{key}` | {_fmt(mt['app'])} | {_fmt(mt['reference'])} | {_fmt(mt['ratio'])} | "
                     f"{mt['unit']} | {mt['n']} | {_target_text(key)} | {_met(key, mt)} |")
    missing = [(k, result[k]["note"]) for k in TARGETS if result[k].get("note")]
    if missing:
        lines += ["", "Why a figure is null:", ""]
        lines += [f"- `{k}`: {why}." for k, why in missing]
    sup = result["supplementary"]
    lines += ["", "Also measured (not targets):", "", "| | app | floor | ratio | unit | n |", "|---|---|---|---|---|---|"]
    for key in ("tray_menu_to_painted_p50_ms", "tray_menu_to_painted_p95_ms", "hotkey_received_to_painted_p50_ms",
                "hotkey_received_to_painted_p95_ms", "cold_start_to_tray_p95_ms",
                "dunstctl_to_takeover_p95_ms"):
        if key not in sup:
            continue
        mt = sup[key]
        lines.append(f"| `{key}` | {_fmt(mt['app'])} | {_fmt(mt['reference'])} | {_fmt(mt['ratio'])} | "
                     f"{mt['unit']} | {mt['n']} |")
    lines += [
        "",
        "`tray_menu_to_painted`: the DBusMenu `Event` \"clicked\" on the tray's Ask… (app) or Show (floor) entry, "
        "as the bus delivers it (dbus-monitor timestamp), to the page's painted report; 30 trials after a warm-up, "
        "hidden again with Esc (app) or the tray's Hide (floor) between trials. `dunstctl_to_takeover`: an "
        "upper bound for `action_to_takeover`, from just before `dunstctl action 0` runs (so dunstctl's start-up "
        "and dunst's handling are included) to the takeover request line in the sim's log. "
        "`hotkey_received_to_painted`: the app's own part of the hotkey path, from its `hotkey pressed` log line "
        "(written when the global-shortcut handler runs) to the painted report; reference as for the hotkey.",
        "",
        *_idle_details(sup),
        *_after_windows_details(sup),
        "Every trial's value is in `raw_ms` of benchmarks.json.",
        "",
        "## Method",
        "",
        "Clocks: every timestamp is the system's real-time clock with µs resolution, read by the party that sees "
        "the event (the harness just before it acts, `dbus-monitor` as the bus delivers a message, the "
        "app's tracing lines, the floor's log lines, the sim's request lines). All run on one machine, so they "
        "share the clock. Percentiles are nearest-rank (each is one measured trial).",
        "",
    ]
    for key in TARGETS:
        lines.append(f"- **`{key}`**: {METHODS[key]}")
    lines += [
        "",
        "## Running it",
        "",
        "`make bench` builds the app and the sim (`cargo build --release -p kallyai-desktop -p kallyai-sim`) and "
        "the floor (`cargo build --release --manifest-path bench/floor/Cargo.toml`), then runs "
        "`scripts/with-desktop /usr/bin/python3 bench/run.py` and rewrites this file and benchmarks.json. "
        "`bench/run.py --quick` runs every step with a few trials, to try changes to the harness; "
        "`bench/run.py --only METRIC[,METRIC]` measures just those metrics and writes its report to a temporary "
        "directory (or `--out DIR`), never here.",
        "",
    ]
    return "\n".join(lines)


def write(result, out_dir):
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "benchmarks.json"), "w") as f:
        json.dump(result, f, indent=2, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(out_dir, "benchmarks.md"), "w") as f:
        f.write(markdown(result))
