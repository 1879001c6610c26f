import { startWindow, showFace, invoke, listen, t, transcriptLine } from "./common.js";

const $ = (id) => document.getElementById(id);
let current = null; // { callId, live, caller, since }

// Lines labelled "KallyAI" and the caller's name (or "Caller" for a number without one).
const line = (entry) => transcriptLine(entry.speaker, entry.content, current?.caller);

/** Up to two initials of a name; a number (or nothing) shows a handset instead. */
function initials(name) {
  const words = String(name ?? "").match(/\p{L}[\p{L}'’-]*/gu) ?? [];
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return letters.map((w) => w[0].toUpperCase()).join("") || "☎";
}

// ---- how long the call has been screened: counted each second while it is live and on screen,
// never in a hidden window
let clock = null;
const mmss = (seconds) => {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};
function showElapsed() {
  if (!current?.since) return ($("elapsed").textContent = "");
  $("elapsed").textContent = mmss((Date.now() - current.since) / 1000);
}
function runClock() {
  clearInterval(clock);
  clock = null;
  showElapsed();
  if (current?.live && current.since && document.visibilityState === "visible") clock = setInterval(showElapsed, 1000);
}
document.addEventListener("visibilitychange", runClock);

/** Keeps the newest line in view (the actions stay above it). */
function showNewest() {
  $("transcript").lastElementChild?.scrollIntoView({ block: "nearest" });
}

function showEnded(status) {
  current.live = false;
  runClock();
  $("live").hidden = true;
  $("actions").hidden = true;
  $("reject-form").hidden = true;
  $("transfer-form").hidden = true;
  $("ended").textContent = t(`call.ended.${status}`) === `call.ended.${status}` ? t("call.ended.completed") : t(`call.ended.${status}`);
  $("ended").hidden = false;
}

async function load(callId) {
  const details = await invoke("call_details", { callId: callId ?? null }).catch(() => null);
  if (!details) {
    current = null;
    showFace("face-idle");
    return;
  }
  if (details.call.id !== current?.callId) shownAt = performance.now();
  // Counted from when the server says the call came in; else from when the popup first saw it.
  const since = Date.parse(details.call.created_at ?? "") || (current?.callId === details.call.id ? current.since : Date.now());
  const named = details.call.caller_name ? details.caller : null;
  current = { callId: details.call.id, live: details.live, caller: named ?? t("call.caller"), since };
  $("caller").textContent = details.caller;
  $("initials").textContent = initials(named);
  $("vip").hidden = !details.call.is_vip;
  $("number").textContent = details.call.caller_number ?? "";
  $("summary").textContent = details.call.summary ?? "";
  $("action-items").replaceChildren(
    ...details.call.action_items.map((item) => {
      const li = document.createElement("li");
      li.textContent = item.description ?? "";
      return li;
    }),
  );
  $("transcript").replaceChildren(...details.transcript.map(line));
  $("transcript-empty").hidden = details.transcript.length > 0;
  showNewest();
  $("error").textContent = "";
  $("ended").hidden = true;
  $("live").hidden = !details.live;
  $("actions").hidden = !details.live;
  if (!details.live) showEnded(details.call.status);
  runClock();
  showFace("face-call");
}

// The server's transcript is the truth; a transcript_line event only says there is more. Appending
// the event's own line would repeat lines the popup already read when it opened (the watcher may
// announce them later). Refreshes run one after another and append only the lines not shown yet.
let transcriptQueue = Promise.resolve();
function refreshTranscript(callId) {
  transcriptQueue = transcriptQueue.then(async () => {
    const details = await invoke("call_details", { callId }).catch(() => null);
    if (!details || current?.callId !== callId) return;
    const list = $("transcript");
    list.append(...details.transcript.slice(list.children.length).map(line));
    $("transcript-empty").hidden = list.children.length > 0;
    showNewest();
  });
}

async function act(action) {
  if (!current?.live) return;
  $("error").textContent = "";
  try {
    await invoke("call_action", { callId: current.callId, action });
    showEnded(action.action === "takeover" ? "taken_over" : action.action === "reject" ? "rejected" : "transferred");
  } catch (error) {
    $("error").textContent = error.message ?? String(error);
    if (error.code === "call_not_found" || error.code === "conflict" || /ended/.test(error.message)) await load(current.callId);
  }
}

$("takeover").addEventListener("click", () => act({ action: "takeover" }));
$("reject").addEventListener("click", () => {
  $("reject-form").hidden = false;
  $("reject-reason").focus();
});
$("transfer").addEventListener("click", () => {
  $("transfer-form").hidden = false;
  $("transfer-number").focus();
});
$("reject-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act({ action: "reject", reason: $("reject-reason").value.trim() || "user_rejected" });
});
$("transfer-form").addEventListener("submit", (event) => {
  event.preventDefault();
  act({ action: "transfer", number: $("transfer-number").value.trim() });
});
// Single keys act on a live call only once the user has come to the popup: it never takes the
// keyboard by itself (the shell shows it unfocused), and a key pressed within a moment of a call
// appearing was meant for what the user was doing, not for a call they have not read yet.
const SETTLE_MS = 1000;
let shownAt = 0;
document.addEventListener("keydown", (event) => {
  if (event.target instanceof HTMLInputElement || event.ctrlKey || event.altKey || event.metaKey) return;
  if (!document.hasFocus() || performance.now() - shownAt < SETTLE_MS) return;
  const key = event.key.toLowerCase();
  if (key === "t") act({ action: "takeover" });
  else if (key === "r") $("reject").click();
  else if (key === "f") $("transfer").click();
  else return;
  event.preventDefault();
});

await startWindow(() => {});
await listen("core://event", ({ payload: event }) => {
  if (event.type === "call_ringing" || event.type === "call_still_live") load(event.call_id);
  else if (event.call_id !== current?.callId) return;
  else if (event.type === "transcript_line") refreshTranscript(event.call_id);
  else if (event.type === "call_ended") showEnded(event.outcome);
});
await listen("call://select", ({ payload: callId }) => load(callId));
window.addEventListener("focus", () => current && load(current.callId));
await load(null);
