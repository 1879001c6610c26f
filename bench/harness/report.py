"""docs/benchmarks.json and docs/benchmarks.md from one run's raw results."""
import json
import os

from . import stats

# Metric key → (unit, target as (what, bound) or None). "ratio" targets bound app/floor.
TARGETS = {
    "idle_memory_pss_mib": ("MiB", ("ratio", 1.25)),
    "idle_cpu_percent": ("% of one core", ("app", 0.2)),
    "idle_requests_per_min": ("requests/min", ("app", 4)),
    "idle_requests_per_min_polling": ("requests/min", ("app", 20)),
    "hotkey_to_painted_p95_ms": ("ms", ("app", 50)),
    "hotkey_to_painted_p50_ms": ("ms", None),
    "call_to_notification_p95_ms": ("ms", ("app", 1000)),
    "call_to_notification_polling_p95_ms": ("ms", ("app", 3000)),
    "action_to_takeover_p95_ms": ("ms", ("app", 50)),
    "ask_overhead_median_ms": ("ms", ("app", 5)),
    "cold_start_to_tray_ms": ("ms", None),
    "binary_size_mib": ("MiB", None),
}

METHODS = {
    "idle_memory_pss_mib": "Sum of `Pss:` from `/proc/PID/smaps_rollup` over the process and every descendant "
    "(WebKitWebProcess, WebKitNetworkProcess), sampled every 10 s over a 60 s idle window that starts 40 s after "
    "the spawn (10 s start + 30 s idle); the median sample is reported, n = samples. App and floor run side by "
    "side on the same desktop, no window shown yet, the app signed in against the sim with its event stream on.",
    "idle_cpu_percent": "utime + stime from `/proc/PID/stat` (all threads) of the same process trees, difference "
    "over the same 60 s window, as % of one core (clock ticks of 10 ms, so the resolution is 0.017 %). n = windows.",
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
    "dispatches Enter and times with `performance.now()` (WebKit coarsens it to about 1 ms) until a DOM "
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


def build(r):
    m = {}
    notes = dict(r["notes"])
    idle_app, idle_floor = r["idle"]["app"], r["idle"]["floor"]
    m["idle_memory_pss_mib"] = _metric(idle_app["pss_mib"], idle_floor["pss_mib"], "MiB",
                                       len(idle_app["pss_samples_mib"]))
    m["idle_cpu_percent"] = _metric(idle_app["cpu_percent"], idle_floor["cpu_percent"], "% of one core", 1,
                                    digits=3)
    if not idle_floor["cpu_ticks"]:
        m["idle_cpu_percent"]["note"] = "the floor used no measurable CPU (0 ticks of 10 ms), so there is no ratio"
    if not r["signed_in"]:
        notes["signed_in"] = ("The app did not sign in: this build has no stored-session sign-in, so every "
                              "figure is for the app signed out (no watcher, no event stream, no polling).")
    for key, data in (("idle_requests_per_min", r["idle_requests"]),
                      ("idle_requests_per_min_polling", r["polling_requests"])):
        m[key] = _metric(data["count"] / (data["window_s"] / 60), None, "requests/min", 1)
        m[key]["window_s"] = round(data["window_s"], 1)

    floor_show = r["tray_show"]["floor"][1]
    hot, why, hot_inside = (list(r["hotkey"]) + [[]])[:3]
    for suffix, p in (("p95", 95), ("p50", 50)):
        m[f"hotkey_to_painted_{suffix}_ms"] = _metric(stats.percentile(hot, p) if hot else None,
                                                      stats.percentile(floor_show, p), "ms",
                                                      len(hot) if hot else 0, why)
    for key, (values, why) in (("call_to_notification_p95_ms", r["notify_stream"]),
                               ("call_to_notification_polling_p95_ms", r["notify_polling"]),
                               ("action_to_takeover_p95_ms", r["takeover"][:2])):
        m[key] = _metric(stats.percentile(values, 95) if values else None, None, "ms",
                         len(values) if values else 0, why)
    overhead, why, detail = r["ask"]
    m["ask_overhead_median_ms"] = _metric(overhead, None, "ms", len(detail.get("app_ms", [])), why, digits=2)
    cold = r["cold"]
    m["cold_start_to_tray_ms"] = _metric(stats.median(cold["app"]), stats.median(cold["floor"]), "ms",
                                         len(cold["app"]))
    m["binary_size_mib"] = _metric(r["binary_mib"]["app"], r["binary_mib"]["floor"], "MiB", 1, digits=2)

    app_tray, _ = r["tray_show"]["app"]
    floor_tray, _ = r["tray_show"]["floor"]
    supplementary = {
        "tray_menu_to_painted_p50_ms": _metric(stats.percentile(app_tray, 50), stats.percentile(floor_tray, 50),
                                               "ms", len(app_tray)),
        "tray_menu_to_painted_p95_ms": _metric(stats.percentile(app_tray, 95), stats.percentile(floor_tray, 95),
                                               "ms", len(app_tray)),
        "hotkey_received_to_painted_p50_ms": _metric(stats.percentile(hot_inside, 50), stats.percentile(floor_show, 50),
                                                     "ms", len(hot_inside)),
        "hotkey_received_to_painted_p95_ms": _metric(stats.percentile(hot_inside, 95), stats.percentile(floor_show, 95),
                                                     "ms", len(hot_inside)),
        "cold_start_to_tray_p95_ms": _metric(stats.percentile(cold["app"], 95), stats.percentile(cold["floor"], 95),
                                             "ms", len(cold["app"])),
        "dunstctl_to_takeover_p95_ms": _metric(stats.percentile(r["takeover"][2], 95), None, "ms",
                                               len(r["takeover"][2])),
        "idle_processes": {"app": idle_app["processes"], "floor": idle_floor["processes"]},
        "idle_pss_samples_mib": {"app": idle_app["pss_samples_mib"], "floor": idle_floor["pss_samples_mib"]},
        "idle_pss_by_process_mib": {"app": idle_app.get("pss_by_process_mib"),
                                    "floor": idle_floor.get("pss_by_process_mib")},
        "idle_cpu_ticks": {"app": idle_app["cpu_ticks"], "floor": idle_floor["cpu_ticks"],
                           "window_s": round(idle_app["window_s"], 1)},
        "idle_request_paths": r["idle_requests"]["paths"],
        "polling_request_paths": r["polling_requests"]["paths"],
    }
    if detail:
        supplementary["ask"] = {k: (round(v, 2) if isinstance(v, (int, float)) else [round(x, 2) for x in v])
                                for k, v in detail.items()}
    raw = {"cold_start_ms": cold, "tray_menu_to_painted_ms": {"app": app_tray, "floor": floor_tray},
           "floor_show_to_painted_ms": floor_show, "hotkey_to_painted_ms": hot}
    for name in ("notify_stream", "notify_polling", "takeover"):
        raw[name + "_ms"] = r[name][0]
    raw["dunstctl_to_takeover_ms"] = r["takeover"][2]
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
        f"- App signed in: {'yes' if result['signed_in'] else '**no**'}.",
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
        f"Idle processes: app {', '.join(sup['idle_processes']['app'])}; floor "
        f"{', '.join(sup['idle_processes']['floor'])}. PSS samples (MiB): app {sup['idle_pss_samples_mib']['app']}, "
        f"floor {sup['idle_pss_samples_mib']['floor']}. Requests while idle: "
        f"{', '.join(sup['idle_request_paths']) or 'none'}; with polling: "
        f"{', '.join(sup['polling_request_paths']) or 'none'}.",
        "",
        "PSS by process at the last idle sample (MiB): app "
        + ", ".join(f"{n} {v:g}" for n, v in sup["idle_pss_by_process_mib"]["app"] or [])
        + "; floor " + ", ".join(f"{n} {v:g}" for n, v in sup["idle_pss_by_process_mib"]["floor"] or []) + ".",
        "",
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
        "`bench/run.py --quick` runs every step with a few trials, to try changes to the harness.",
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
