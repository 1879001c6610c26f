import { startWindow, listen, invoke, t, linkified, button, serverWord, GOAL_ACTIONS } from "./common.js";
import { formatCredits } from "./format.js";
import { formattedNodes } from "./formatted.js";

const $ = (id) => document.getElementById(id);
const input = $("ask-input");
const HISTORY_KEY = "ask.history";
let state = null;
// Asks answered before `ask_send` returned to `send()`: the events can overtake the call's own
// answer, and such an ask must not come back as a "queued" row under its reply.
const answeredEarly = new Set();
let replyShownFor = null;
let shownGoal = null;

// ---- earlier asks, walked with Up/Down (kept on this computer only)
const history = JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]");
let historyIndex = history.length;
function remember(text) {
  if (history[history.length - 1] !== text) history.push(text);
  while (history.length > 50) history.shift();
  localStorage.setItem(HISTORY_KEY, JSON.stringify(history));
  historyIndex = history.length;
}
// Signed out, what the last account asked is no longer anyone's to walk through.
function forgetHistory() {
  history.length = 0;
  historyIndex = 0;
  localStorage.removeItem(HISTORY_KEY);
}

// ---- an ask its goal's budget stopped: the goal, its estimate, and what lets it go on
const UNBLOCK = { budget_approval_required: "approve_budget", budget_exceeded: "approve_budget", soft_cap_reached: "acknowledge_soft_cap" };
// The sentence with the goal's title in bold (a title often repeats the question above it).
function budgetSentence(budget) {
  const estimate = budget.credits_estimated;
  // {goal} is left in the sentence: the title goes in its place as a bold node.
  const sentence = t(`ask.budget.${budget.kind}${estimate != null ? "" : ".no_estimate"}`, { credits: formatCredits(estimate) });
  const [before, after] = sentence.split("{goal}");
  if (after === undefined) return [document.createTextNode(sentence)];
  const title = document.createElement("strong");
  title.textContent = budget.goal_title || t("ask.budget.this_goal");
  return [document.createTextNode(before), title, document.createTextNode(after)];
}
function showBudget(li, status, entry) {
  li.classList.add("budget");
  status.className = "budget-note";
  status.replaceChildren(...budgetSentence(entry.budget));
  const unblock = UNBLOCK[entry.budget.kind];
  const actions = document.createElement("div");
  actions.className = "row";
  actions.append(
    button(t(`goal.action.${unblock}`), () => settleBudget(entry, unblock), "primary"),
    button(t("ask.goal.cancel"), () => settleBudget(entry, "cancel")),
    button(t("ask.discard"), () => {
      decidedHere.add(entry.local_id);
      invoke("ask_discard", { localId: entry.local_id });
    }),
  );
  const error = document.createElement("p");
  error.className = "error";
  error.setAttribute("role", "alert");
  error.textContent = entry.error ?? "";
  li.append(actions, error);
}
// The goal the ask created goes on (or is cancelled): the ask leaves the outbox without being
// sent again, and the box shows what was asked and the goal. `decidedHere`: asks the box itself
// settled or discarded (one decision at a time; any other settling came from the notification).
const decidedHere = new Set();
async function settleBudget(entry, action) {
  if (decidedHere.has(entry.local_id)) return;
  decidedHere.add(entry.local_id);
  try {
    const goal = await invoke("ask_budget_action", { localId: entry.local_id, action });
    entries.delete(entry.local_id);
    renderQueue();
    showDecided(entry.text, t(`goal.done.${action}`));
    renderGoal(goal);
  } catch (error) {
    decidedHere.delete(entry.local_id);
    if (entries.has(entry.local_id)) setEntry(entry.local_id, { error: error.message ?? String(error) });
  }
}
function showDecided(question, said) {
  $("question").textContent = question;
  $("reply").textContent = said;
  $("reply").classList.remove("formatted");
  $("reply-cut").hidden = true;
  $("copy-reply").hidden = true;
  $("credits-used").textContent = "";
  $("suggestions").replaceChildren();
  $("answer").hidden = false;
}

// ---- the outbox: asks not answered yet, and asks the server refused
const entries = new Map();
// Rows are drawn once a frame while the box is on screen (at once while hidden, where no frame
// comes): an ask answered within a frame of being saved goes from the input straight to its
// reply, and nothing is laid out and painted in between to hold the reply up. `sentText`: the
// text of an ask just saved, taken out of the input with that frame (or with its reply) if the
// input still holds it; anything typed since stays.
let queueFrame = 0;
let sentText = null;
function renderQueueSoon() {
  if (document.hidden) return renderQueue();
  if (!queueFrame) queueFrame = requestAnimationFrame(renderQueue);
}
function takeSentText() {
  if (sentText !== null && input.value === sentText) input.value = "";
  sentText = null;
}
function renderQueue() {
  cancelAnimationFrame(queueFrame);
  queueFrame = 0;
  takeSentText();
  const items = [...entries.values()].map((entry) => {
    const li = document.createElement("li");
    li.dataset.localId = entry.local_id;
    li.className = `queued ${entry.kind}`;
    const text = document.createElement("p");
    text.textContent = entry.text;
    const status = document.createElement("p");
    status.className = entry.kind === "failed" ? "error" : entry.kind === "maybe_sent" ? "hint warning" : "hint";
    status.textContent = statusText(entry);
    li.append(text, status);
    if (entry.kind === "failed" && entry.budget?.goal_id) {
      showBudget(li, status, entry);
    } else if (entry.kind === "failed") {
      const actions = document.createElement("div");
      actions.className = "row";
      if (entry.manage_plan) actions.append(button(t("credits.manage_plan"), () => invoke("manage_plan"), "primary"));
      actions.append(
        button(t("ask.edit"), () => {
          input.value = entry.text;
          input.focus();
          invoke("ask_discard", { localId: entry.local_id });
        }),
        button(t("ask.resend"), () => invoke("ask_resend", { localId: entry.local_id, text: null })),
        button(t("ask.discard"), () => invoke("ask_discard", { localId: entry.local_id })),
      );
      li.append(actions);
    } else if (entry.kind === "maybe_sent") {
      // Its answer was lost and the conversation could not say whether it arrived: never sent
      // again unless the user says so.
      const actions = document.createElement("div");
      actions.className = "row";
      actions.append(
        button(t("ask.resend"), () => invoke("ask_resend", { localId: entry.local_id, text: null }), "primary"),
        button(t("ask.discard"), () => invoke("ask_discard", { localId: entry.local_id })),
      );
      li.append(actions);
    }
    return li;
  });
  $("queue").replaceChildren(...items);
}

function statusText(entry) {
  switch (entry.kind) {
    case "failed":
      return entry.message;
    case "sending":
      return t("ask.sending");
    case "checking":
      return t("ask.checking");
    case "maybe_sent":
      return t("ask.maybe_sent");
    default:
      return t("ask.queued") + (entry.message ? ` ${entry.message}` : "");
  }
}

function setEntry(localId, patch) {
  entries.set(localId, { ...(entries.get(localId) ?? { local_id: localId, text: "" }), ...patch });
  renderQueueSoon();
}

// ---- Copy: the reply as plain text, as it reads on screen (the whole text when only part of a
// very long reply is shown)
let copyText = null;
$("copy-reply").addEventListener("click", async () => {
  const text = copyText ?? $("reply").innerText;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // WebKit may refuse the async clipboard; the selection-based copy still works from a click.
    const area = document.createElement("textarea");
    area.value = text;
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  $("copied").textContent = t("ask.copied");
  // The box is for typing: after the copy, the next key goes to the input again.
  input.focus();
});

function showReply(localId, reply) {
  const asked = entries.get(localId)?.text ?? "";
  if (!asked) answeredEarly.add(localId);
  replyShownFor = localId;
  entries.delete(localId);
  renderQueue();
  $("question").textContent = asked;
  // Read back from the conversation before its answer was stored: say where it will be.
  const formatted = reply.text && reply.formatted?.nodes?.length ? formattedNodes(reply.formatted.nodes) : null;
  $("reply").replaceChildren(...(formatted ?? linkified(reply.text || t("ask.reply_in_conversation"))));
  $("reply").classList.toggle("formatted", Boolean(formatted));
  $("reply-cut").hidden = !(formatted && reply.formatted.truncated);
  copyText = reply.formatted?.truncated ? reply.text : null;
  $("copy-reply").hidden = !reply.text;
  $("copied").textContent = "";
  $("credits-used").textContent = reply.credits_used != null ? t("ask.credits_used", { credits: formatCredits(reply.credits_used) }) : "";
  $("suggestions").replaceChildren(
    ...reply.suggestions.map((s) =>
      button(s, () => {
        input.value = s;
        send();
      }),
    ),
  );
  $("answer").hidden = false;
  if (reply.goal_id) loadGoal(reply.goal_id);
}

// ---- goals the reply created or touched
// Server statuses are codes (needs_input, awaiting_approval…): shown in words, unknown ones readable.
function statusLabel(status) {
  return serverWord("goal.status", status);
}

function renderGoal(goal) {
  shownGoal = goal.id;
  $("goal-title").textContent = goal.title;
  $("goal-status").textContent = statusLabel(goal.status);
  $("goal-outcome").textContent = goal.outcome ?? "";
  $("goal-steps").replaceChildren(
    ...goal.steps.map((step) => {
      const li = document.createElement("li");
      li.textContent = `${step.description} — ${statusLabel(step.status)}`;
      if (step.waiting_for_approval) li.className = "waiting";
      return li;
    }),
  );
  $("goal-actions").replaceChildren(
    ...goal.actions.map((action) =>
      button(t(GOAL_ACTIONS[action]), async () => {
        $("goal-error").textContent = "";
        try {
          renderGoal(await invoke("ask_goal_action", { goalId: goal.id, action }));
        } catch (error) {
          $("goal-error").textContent = error.message ?? String(error);
        }
      }, action === "cancel" ? "" : "primary"),
    ),
  );
  $("goal").hidden = false;
}
async function loadGoal(goalId) {
  try {
    renderGoal(await invoke("ask_goal", { goalId }));
  } catch (error) {
    $("goal-error").textContent = error.message ?? String(error);
  }
}

// ---- sending
async function send() {
  const typed = input.value;
  const text = typed.trim();
  if (!text) return;
  try {
    // Saved to the outbox before anything is sent: only then is the box cleared.
    const entry = await invoke("ask_send", { text });
    remember(text);
    sentText = typed;
    if (answeredEarly.delete(entry.local_id)) {
      if (replyShownFor === entry.local_id) $("question").textContent = entry.text;
      // The reply is on screen already: the text leaves the input now.
      takeSentText();
    } else {
      // An event may have said where it is already (failed, waiting): only its text is new.
      // Otherwise it goes out now when it can (the app passes "sending" on only once a send
      // has lasted), or waits behind the asks before it.
      setEntry(entry.local_id, entries.has(entry.local_id) ? { text: entry.text } : { text: entry.text, kind: goesOutNow(entry.local_id) ? "sending" : "queued" });
    }
    // An estimate still pending for the sent text must not bring its hint back.
    clearTimeout(estimateTimer);
    estimateSeq += 1;
    $("cost-hint").textContent = "";
  } catch (error) {
    $("cost-hint").textContent = error.message ?? String(error);
  }
}

// Online, signed in, and no ask still waiting before it.
function goesOutNow(localId) {
  const waiting = [...entries.values()].some((e) => e.local_id !== localId && ["queued", "sending", "checking"].includes(e.kind));
  return Boolean(state?.online && state?.signed_in) && !waiting;
}

// ---- cost preview while typing (debounced, never blocking)
let estimateTimer = null;
let estimateSeq = 0;
input.addEventListener("input", () => {
  // Typed since the last send: what the input holds now is the user's, never taken out.
  sentText = null;
  clearTimeout(estimateTimer);
  const text = input.value.trim();
  if (text.length < 8) return ($("cost-hint").textContent = "");
  estimateTimer = setTimeout(async () => {
    const seq = ++estimateSeq;
    const hint = await invoke("ask_estimate", { text }).catch(() => null);
    if (seq !== estimateSeq) return;
    $("cost-hint").className = hint?.exceeds_balance ? "hint warning" : "hint";
    $("cost-hint").textContent = !hint ? "" : t(hint.exceeds_balance ? "ask.cost.exceeds" : "ask.cost", { credits: formatCredits(hint.credits) });
  }, 400);
});

// Up/Down walk the earlier asks while the input is empty or still shows the one recalled (a
// recalled ask puts the caret at its end, so a caret test would stop the walk after one step);
// text being typed is never replaced by an arrow key.
const walkingHistory = () => input.value === "" || input.value === history[historyIndex];

input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send();
  } else if (event.key === "ArrowUp" && walkingHistory() && historyIndex > 0) {
    event.preventDefault();
    input.value = history[--historyIndex];
  } else if (event.key === "ArrowDown" && walkingHistory() && historyIndex < history.length) {
    event.preventDefault();
    historyIndex += 1;
    input.value = history[historyIndex] ?? "";
  }
});

$("new-conversation").addEventListener("click", async () => {
  await invoke("ask_new_conversation");
  $("answer").hidden = true;
  $("goal").hidden = true;
  shownGoal = null;
  input.focus();
});

$("show-conversations").addEventListener("click", async () => {
  const panel = $("conversations");
  panel.hidden = !panel.hidden;
  if (panel.hidden) return;
  const conversations = await invoke("ask_conversations").catch(() => []);
  $("conversation-list").replaceChildren(
    ...conversations.map((c) => {
      const li = document.createElement("li");
      li.append(
        button(c.title || c.id.slice(0, 8), async () => {
          await invoke("ask_continue_conversation", { conversationId: c.id });
          const messages = await invoke("ask_history", { conversationId: c.id }).catch(() => []);
          $("history").replaceChildren(
            ...messages.map((m) => {
              const item = document.createElement("li");
              const who = document.createElement("strong");
              who.textContent = `${m.role}: `;
              item.append(who, ...linkified(m.content));
              return item;
            }),
          );
        }),
      );
      return li;
    }),
  );
});

// ---- events from the app
const ASK_EVENTS = {
  ask_queued: (e) => setEntry(e.local_id, { kind: "queued", message: "" }),
  ask_sending: (e) => setEntry(e.local_id, { kind: "sending" }),
  ask_checking: (e) => setEntry(e.local_id, { kind: "checking" }),
  ask_maybe_sent: (e) => setEntry(e.local_id, { kind: "maybe_sent" }),
  ask_waiting: (e) => setEntry(e.local_id, { kind: "queued", message: e.message }),
  // Out of credits is one sentence and "Manage plan"; the server's own words would repeat it.
  ask_failed: (e) => setEntry(e.local_id, { kind: "failed", message: e.server_message && !e.manage_plan ? `${e.message} ${e.server_message}` : e.message, manage_plan: e.manage_plan, budget: e.budget, error: null }),
  ask_discarded: (e) => {
    const gone = entries.get(e.local_id);
    entries.delete(e.local_id);
    renderQueue();
    // Settled by a decision on its goal's notification: the goal goes on; show it with the question.
    if (gone?.budget?.goal_id && !decidedHere.has(e.local_id)) {
      showDecided(gone.text, t("ask.budget.decided"));
      loadGoal(gone.budget.goal_id);
    }
  },
  ask_sent: (e) => showReply(e.local_id, e.reply),
};
await listen("core://event", ({ payload }) => {
  ASK_EVENTS[payload.type]?.(payload);
  // Goals move on the server: refetch the shown one when something changed there.
  if (shownGoal && ["pending_item", "pending_item_resolved", "notifications_changed", "credits_changed"].includes(payload.type)) loadGoal(shownGoal);
});

// What a flag or a link suggested last: text the user has not changed since can be replaced by
// the next suggestion; anything the user typed is kept, and the suggestion offered beside it.
let lastPrefill = "";
function prefill(text) {
  const suggestion = $("suggestion");
  if (text) {
    const untouched = !input.value.trim() || input.value === lastPrefill;
    if (untouched) {
      input.value = text;
      lastPrefill = text;
      suggestion.replaceChildren();
    } else if (text !== input.value) {
      const use = button(t("ask.suggestion.use"), () => {
        input.value = text;
        lastPrefill = text;
        suggestion.replaceChildren();
        input.focus();
      });
      suggestion.replaceChildren(document.createTextNode(t("ask.suggestion.kept", { text })), " ", use);
    }
  }
  input.focus();
  // The caret at the end, nothing selected: a key pressed next adds to the text, never replaces it.
  input.setSelectionRange(input.value.length, input.value.length);
}

// ---- the window fits the content: a bar when empty, taller with a reply (ask_fit bounds it)
// While the box is on screen it is measured once a frame, not after every change: a change
// never forces a layout of its own, and a row that lives for less than a frame (an ask answered
// at once) never resizes the window, which would hold up the reply behind an X round trip and a
// repaint. While hidden there is no frame to wait for, and the box must be the right size when
// it shows, so it is measured at once.
let fitted = 0;
let fitQueued = false;
const fit = () => {
  fitQueued = false;
  const body = document.body;
  const height = Math.ceil(body.scrollHeight + body.offsetHeight - body.clientHeight);
  if (height === fitted) return;
  fitted = height;
  invoke("ask_fit", { height }).catch(() => {});
};
const fitSoon = () => {
  if (document.hidden) return fit();
  if (fitQueued) return;
  fitQueued = true;
  requestAnimationFrame(fit);
};
new ResizeObserver(fit).observe(document.body);
new MutationObserver(fitSoon).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ["hidden"] });

await startWindow((s) => {
  state = s;
  $("face-signed-out").hidden = s.signed_in;
  if (!s.signed_in) {
    // Only once the app knows nobody is signed in: at start, or while the keyring is locked, the
    // saved sign-in may not have been read yet.
    if (s.session_known) forgetHistory();
    $("answer").hidden = true;
  }
});
await listen("ask://prefill", (event) => prefill(event.payload));
await listen("ask://goal", (event) => loadGoal(event.payload));
window.addEventListener("focus", () => {
  input.focus();
  if (shownGoal) loadGoal(shownGoal);
});

// Asks saved by an earlier run (or while the box was closed) show as queued, checking, maybe
// sent or failed.
const overview = await invoke("ask_overview").catch(() => null);
for (const entry of overview?.entries ?? []) {
  const failed = entry.state.kind === "failed";
  setEntry(entry.local_id, {
    text: entry.text,
    kind: failed ? "failed" : entry.state.kind,
    // A queued ask's last error is a code, not a sentence: the next event says what is going on.
    message: failed ? entry.state.message : "",
    manage_plan: failed && entry.state.manage_plan,
    budget: failed ? entry.state.budget : null,
  });
}
prefill(await invoke("take_ask_prefill"));
