// "Call someone…": a form that checks the number as it is typed, shows what the call would cost,
// and places it only on the user's click; then the call's live status and, in place, its result.
// What a link suggested fills only empty fields: nothing the user typed is replaced.
import { startWindow, showFace, invoke, listen, t, serverWord, transcriptLine } from "./common.js";
import { formatCredits } from "./format.js";

const $ = (id) => document.getElementById(id);
const form = $("form");
const fields = { number: $("number"), business: $("business"), task: $("task"), category: $("category"), language: $("language") };

/** A call whose result is older than this is not shown again when the window opens. */
const RESULT_KEPT_MS = 30 * 60 * 1000;
const MIN_TASK_CHARS = 10;

let loaded = false;
let shown = null; // the call on screen (PlacedView), if any
let estimate = { task: null, credits: null };
let timer = null;

const debounce = (fn, ms) => {
  let id;
  return (...args) => {
    clearTimeout(id);
    id = setTimeout(() => fn(...args), ms);
  };
};

// ---- the form --------------------------------------------------------------------------------

function fieldError(name, message) {
  const el = $(`${name}-error`);
  if (!el) return ($("place-error").textContent = message ?? "");
  el.textContent = message ?? "";
  fields[name]?.setAttribute("aria-invalid", message ? "true" : "false");
}

async function checkNumber() {
  const typed = fields.number.value;
  if (!typed.trim()) {
    fieldError("number", "");
    $("number-hint").textContent = t("dialer.number.hint");
    return null;
  }
  try {
    const number = await invoke("dialer_check_number", { number: typed });
    if (fields.number.value !== typed) return null;
    fieldError("number", "");
    $("number-hint").textContent = t("dialer.number.checked", { number: number.international });
    return number;
  } catch (error) {
    if (fields.number.value === typed) {
      fieldError("number", error.message ?? String(error));
      // The number last checked is not the one in the field any more.
      $("number-hint").textContent = t("dialer.number.hint");
    }
    return null;
  }
}

async function loadEstimate() {
  const task = fields.task.value.trim();
  if (task.length < MIN_TASK_CHARS) {
    estimate = { task: null, credits: null };
    $("estimate").textContent = "";
    return;
  }
  try {
    const answer = await invoke("dialer_estimate", { task });
    if (fields.task.value.trim() !== task) return;
    estimate = { task, credits: answer.estimated_credits };
    $("estimate").textContent = t("dialer.estimate", { credits: formatCredits(answer.estimated_credits) });
  } catch {
    // The estimate helps; it is not required to place a call.
    estimate = { task, credits: null };
    $("estimate").textContent = t("dialer.estimate.unavailable");
  }
}

fields.number.addEventListener("input", debounce(checkNumber, 250));
fields.number.addEventListener("blur", checkNumber);
fields.task.addEventListener("input", () => {
  fieldError("task", "");
  // A cost shown for other words is not this task's cost: it goes until the new one comes.
  if (estimate.task !== fields.task.value.trim()) $("estimate").textContent = "";
  debounceEstimate();
});
const debounceEstimate = debounce(loadEstimate, 500);

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const place = $("place");
  if (place.disabled) return;
  fieldError("place", "");
  const number = await checkNumber();
  if (!number) {
    if (!fields.number.value.trim()) fieldError("number", t("dialer.number.required"));
    return fields.number.focus();
  }
  if (fields.task.value.trim().length < MIN_TASK_CHARS) {
    fieldError("task", t("dialer.task.length"));
    return fields.task.focus();
  }
  // The cost is shown before anything is placed: a first click that has not seen it shows it.
  if (estimate.task !== fields.task.value.trim()) {
    await loadEstimate();
    return;
  }
  place.disabled = true;
  try {
    const call = await invoke("dialer_place", {
      form: {
        number: fields.number.value,
        task: fields.task.value,
        category: fields.category.value,
        language: fields.language.value,
        business_name: fields.business.value,
      },
    });
    showCall(call);
  } catch (error) {
    fieldError(error.field ?? "place", error.message ?? String(error));
    (fields[error.field] ?? place).focus();
  } finally {
    place.disabled = false;
  }
});

/** Fills empty fields with what a link suggested; says so when a field already held text. A
 *  result on screen makes way for the form (a call being placed stays). */
function suggest(prefill) {
  if (!prefill) return;
  if (shown && shown.phase !== "placing") startNewCall();
  let kept = false;
  for (const name of ["number", "task"]) {
    const value = prefill[name];
    if (!value) continue;
    if (!fields[name].value.trim()) fields[name].value = value;
    else if (fields[name].value.trim() !== value.trim()) kept = true;
  }
  $("suggestion").textContent = kept ? t("dialer.suggestion.kept") : "";
  checkNumber();
  loadEstimate();
}

// ---- the call --------------------------------------------------------------------------------

const elapsed = (ms) => {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};

/** A call status in words; one the app does not know is shown as the server names it. */
const statusName = (status) => serverWord("dialer.call_status", status || "unknown");

function statusLine(call) {
  switch (call.phase) {
    case "placing":
      return call.call?.status
        ? t("dialer.status.going", { status: statusName(call.call.status), elapsed: elapsed(Date.now() - call.placed_ms) })
        : t("dialer.status.placing", { elapsed: elapsed(Date.now() - call.placed_ms) });
    case "finished":
      return statusName(call.call?.status);
    default:
      return call.message ?? "";
  }
}

function showCall(call) {
  shown = call;
  const who = call.business_name || call.number_shown;
  $("call-heading").textContent = t(call.phase === "placing" ? "dialer.heading.calling" : "dialer.heading.called", { who });
  $("call-task").textContent = call.task;
  const status = $("call-status");
  status.textContent = statusLine(call);
  status.className = `call-status ${call.phase}`;
  const result = call.phase === "finished" ? call.call : null;
  $("call-result").hidden = !result;
  if (result) {
    $("result-highlights").textContent = result.highlights ?? result.result_summary ?? "—";
    $("result-next-steps").textContent = result.next_steps ?? "—";
    $("result-duration").textContent = result.duration_seconds != null ? elapsed(result.duration_seconds * 1000) : "—";
    $("result-credits").textContent = result.credits_used != null ? formatCredits(result.credits_used) : "—";
  }
  $("show-transcript").hidden = !(result && result.id);
  $("new-call").hidden = call.phase === "placing";
  $("new-call").textContent = t(call.phase === "finished" ? "dialer.new_call" : "dialer.edit_call");
  clearInterval(timer);
  if (call.phase === "placing") timer = setInterval(() => shown && ($("call-status").textContent = statusLine(shown)), 1000);
  const wasForm = !$("face-form").hidden;
  showFace("face-call");
  if (wasForm) $("call-heading").setAttribute("tabindex", "-1"), $("call-heading").focus();
}

$("show-transcript").addEventListener("click", async () => {
  const list = $("transcript");
  const toggle = $("show-transcript");
  if (!list.hidden) {
    list.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    toggle.textContent = t("dialer.transcript.show");
    return;
  }
  $("transcript-error").textContent = "";
  try {
    const lines = await invoke("activity_transcript", { direction: "outbound", callId: shown.call.id });
    const them = shown.business_name || shown.number_shown;
    list.replaceChildren(...lines.map((line) => transcriptLine(line.speaker, line.content, them)));
    list.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    toggle.textContent = t("dialer.transcript.hide");
  } catch (error) {
    $("transcript-error").textContent = error.message ?? String(error);
  }
});

$("open-activity").addEventListener("click", () => invoke("show_window", { name: "activity" }));

$("new-call").addEventListener("click", () => startNewCall());

/** Leaves the call on screen for the form: empty after a finished call; after a refusal it keeps
 *  what was typed, to correct it. */
async function startNewCall() {
  const call = shown;
  shown = null;
  clearInterval(timer);
  $("transcript").hidden = true;
  if (call?.phase === "finished") {
    fields.number.value = "";
    fields.task.value = "";
    fields.business.value = "";
    estimate = { task: null, credits: null };
    $("estimate").textContent = "";
    $("number-hint").textContent = t("dialer.number.hint");
  }
  showForm();
  if (call) await invoke("dialer_dismiss", { localId: call.local_id }).catch(() => {});
}

function showForm() {
  showFace("face-form");
  fields.number.focus();
}

// ---- the window ------------------------------------------------------------------------------

async function load() {
  const state = await invoke("dialer_state");
  if (!state.available) return showFace("face-unavailable");
  // A call still being placed is shown; so is a recent result, unless a link or a flag asks
  // for a new call.
  const latest = state.calls[0];
  const recent = latest && Date.now() - latest.placed_ms < RESULT_KEPT_MS;
  if (latest && (latest.phase === "placing" || (recent && !state.prefill))) showCall(latest);
  else showForm();
  suggest(state.prefill);
  loaded = true;
}

await startWindow(async (state) => {
  if (!state.signed_in) return showFace("face-signed-out");
  if (!loaded) return load();
  if (shown) showCall(shown);
  else showFace("face-form");
});
await listen("core://event", async ({ payload }) => {
  if (payload.type !== "call_placing" || !shown || payload.local_id !== shown.local_id) return;
  const call = await invoke("dialer_call", { localId: payload.local_id });
  if (call && shown?.local_id === call.local_id) showCall(call);
});
// Taken from the shell, not from the event: what the shell keeps for a new window is then gone.
await listen("dialer://prefill", async () => suggest((await invoke("dialer_state")).prefill));
