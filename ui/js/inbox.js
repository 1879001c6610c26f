import { startWindow, showFace, invoke, listen, t, linkified, button, GOAL_ACTIONS } from "./common.js";
import { formatDateTime } from "./format.js";

const $ = (id) => document.getElementById(id);
const KINDS = ["approval", "goal", "message"];
// The item a notification asked to open at; kept until it is on the page.
let focusId = null;
// Answers being typed, by goal: the text and the key sent with it (kept while the text is the
// same, so sending again after an unclear failure is one answer to a server that honours keys).
const answers = new Map();

function paragraph(text, className = "") {
  const p = document.createElement("p");
  p.textContent = text ?? "";
  if (className) p.className = className;
  return p;
}

// Runs one action of an item: its buttons wait meanwhile, a failure is one sentence in the item
// (which stays), a success says what happened and reads the inbox again (the item leaves when
// the server stops listing it).
async function run(li, work, done) {
  const error = li.querySelector(".item-error");
  li.querySelectorAll("button, input, textarea").forEach((el) => (el.disabled = true));
  error.textContent = "";
  try {
    const result = await work();
    $("notice").textContent = typeof done === "function" ? done(result) : done;
    refresh();
  } catch (failure) {
    error.textContent = failure.message ?? String(failure);
  } finally {
    li.querySelectorAll("button, input, textarea").forEach((el) => (el.disabled = false));
  }
}

function itemShell(item, heading) {
  const li = document.createElement("li");
  li.id = `item-${item.id}`;
  li.dataset.id = item.id;
  li.dataset.kind = item.kind;
  const title = document.createElement("h3");
  title.id = `item-title-${item.id}`;
  title.textContent = heading;
  li.setAttribute("aria-labelledby", title.id);
  li.append(title);
  return li;
}

function finish(li, ...actions) {
  const bar = document.createElement("div");
  bar.className = "row";
  bar.append(...actions);
  const error = paragraph("", "error item-error");
  error.setAttribute("role", "alert");
  li.append(bar, error);
  return li;
}

// ---- drafts: the whole email, Send / Cancel
function draftItem(item) {
  const draft = item.draft ?? {};
  const li = itemShell(item, draft.subject || item.title || t("inbox.draft.untitled"));
  const fields = document.createElement("dl");
  for (const [key, value] of [["inbox.draft.to", draft.to], ["inbox.draft.cc", draft.cc]]) {
    if (!value) continue;
    const dt = document.createElement("dt");
    dt.textContent = t(key);
    const dd = document.createElement("dd");
    dd.textContent = value;
    fields.append(dt, dd);
  }
  li.append(fields);
  const body = draft.body ?? item.summary;
  if (body) li.append(paragraph(body, "draft-body"));
  const act = (action, done) => () => run(li, () => invoke("inbox_act", { id: item.id, kind: item.kind, action }), t(done));
  return finish(
    li,
    button(t("inbox.draft.send"), act("approve", "inbox.done.approval.approve"), "primary"),
    button(t("inbox.draft.cancel"), act("cancel", "inbox.done.approval.cancel")),
  );
}

// ---- goals: the question with an answer box, and the actions that fit the goal's state
// Keeps what is typed for a goal; the key stays while the text (trimmed) is the same.
function keep(goalId, text) {
  const kept = answers.get(goalId);
  const entry = { text, key: kept && kept.text.trim() === text.trim() ? kept.key : crypto.randomUUID() };
  answers.set(goalId, entry);
  return entry;
}

function answerForm(li, item, goal) {
  const form = document.createElement("form");
  form.className = "answer-form row";
  const input = document.createElement("input");
  input.type = "text";
  input.id = `answer-${item.id}`;
  input.className = "answer-input";
  input.setAttribute("aria-label", t("inbox.goal.answer_label"));
  input.placeholder = t("inbox.goal.answer_placeholder");
  input.value = answers.get(item.id)?.text ?? "";
  input.addEventListener("input", () => keep(item.id, input.value));
  const send = document.createElement("button");
  send.type = "submit";
  send.className = "primary";
  send.textContent = t("inbox.goal.send_answer");
  form.append(input, send);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return input.focus();
    const { key } = keep(item.id, input.value);
    run(
      li,
      async () => {
        const reply = await invoke("inbox_answer", { goalId: item.id, conversationId: goal?.conversation_id ?? null, text, key });
        answers.delete(item.id);
        return reply;
      },
      (reply) => (reply ? t("inbox.goal.answered_reply", { reply }) : t("inbox.goal.answered")),
    );
  });
  return form;
}

function goalItem(item) {
  const goal = item.goal;
  const li = itemShell(item, goal?.title || item.title || t("ask.goal"));
  const asks = goal ? goal.question ?? goal.outcome : item.summary;
  if (asks) li.append(paragraph(asks, "goal-question"));
  const waiting = goal?.steps?.find((s) => s.waiting_for_approval);
  if (waiting) li.append(paragraph(t("inbox.goal.step", { step: waiting.description }), "muted"));
  const actions = goal ? goal.actions : item.actions.filter((a) => GOAL_ACTIONS[a]);
  const unblocks = actions.some((a) => ["approve_step", "approve_budget", "acknowledge_soft_cap"].includes(a));
  // A goal that waits on words (its question, or an outcome it may need told) can be answered.
  if (!unblocks) li.append(answerForm(li, item, goal));
  const buttons = actions.map((action) =>
    button(
      t(GOAL_ACTIONS[action] ?? action),
      () =>
        run(
          li,
          () => (goal ? invoke("inbox_goal_action", { goalId: item.id, action }) : invoke("inbox_act", { id: item.id, kind: "goal", action })),
          t(`goal.done.${action}`),
        ),
      action === "cancel" ? "" : "primary",
    ),
  );
  return finish(li, ...buttons);
}

// ---- messages: who and what, the full message and its thread on demand, Mark read
function threadList(messages) {
  const ol = document.createElement("ol");
  ol.className = "thread";
  ol.setAttribute("aria-label", t("inbox.message.thread"));
  for (const m of messages) {
    const li = document.createElement("li");
    if (m.direction === "outgoing") li.className = "outgoing";
    const who = document.createElement("strong");
    who.textContent = `${m.direction === "outgoing" ? t("inbox.message.you") : m.from ?? ""}: `;
    li.append(who, ...linkified(m.body ?? m.preview ?? ""));
    ol.append(li);
  }
  return ol;
}

async function openMessage(li, item, toggle) {
  const full = li.querySelector(".message-full");
  if (!full.hidden) {
    full.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    return;
  }
  toggle.setAttribute("aria-expanded", "true");
  full.hidden = false;
  full.replaceChildren(paragraph(t("state.loading"), "muted"));
  try {
    const view = await invoke("inbox_message", { messageId: item.id });
    const body = document.createElement("p");
    body.className = "message-body";
    body.append(...linkified(view.message.body ?? view.message.preview ?? item.summary ?? ""));
    full.replaceChildren(body);
    if (view.thread.length) full.append(threadList(view.thread));
  } catch (failure) {
    // The preview is still worth reading when the message itself cannot be.
    full.replaceChildren(paragraph(item.summary ?? "", "message-body"), paragraph(failure.message ?? String(failure), "error"));
  }
}

function messageItem(item) {
  const message = item.message ?? {};
  const from = message.from ?? item.title ?? "";
  const li = itemShell(item, message.subject ? `${from} · ${message.subject}` : from || t("pending.title.message"));
  const meta = [message.channel ? t(`inbox.channel.${message.channel}`) : null, message.received_at ? formatDateTime(message.received_at) : null].filter(Boolean);
  if (meta.length) li.append(paragraph(meta.join(" · "), "muted"));
  li.append(paragraph(message.preview ?? item.summary, "message-preview"));
  const full = document.createElement("div");
  full.className = "message-full";
  full.id = `message-${item.id}`;
  full.hidden = true;
  li.append(full);
  const read = button(t("inbox.message.read"), () => openMessage(li, item, read));
  read.setAttribute("aria-expanded", "false");
  read.setAttribute("aria-controls", full.id);
  const mark = button(t("inbox.message.mark_read"), () =>
    run(li, () => invoke("inbox_act", { id: item.id, kind: "message", action: "mark_read" }), t("inbox.done.message.mark_read")),
  );
  return finish(li, read, mark);
}

const RENDER = { approval: draftItem, goal: goalItem, message: messageItem };

const CONTROLS = "button, input, textarea, select, a[href]";

function render(view) {
  // A redraw keeps where the user is: the focused control (found again by its item and place in
  // it, the caret with it: moving a node drops its focus), the highlighted item; typed answers
  // live in `answers`.
  const active = document.activeElement;
  const activeItem = active?.closest?.(".list > li");
  const place = activeItem ? [...activeItem.querySelectorAll(CONTROLS)].indexOf(active) : -1;
  const caret = active?.selectionStart;
  for (const kind of KINDS) {
    const items = view.items.filter((i) => i.kind === kind);
    const list = $(`list-${kind}`);
    // An item the server still lists unchanged keeps its node: a message stays open, a click
    // being made lands, only what changed is drawn again.
    const drawn = new Map([...list.children].map((li) => [li.id, li]));
    list.replaceChildren(
      ...items.map((item) => {
        const same = JSON.stringify(item);
        const kept = drawn.get(`item-${item.id}`);
        if (kept?.dataset.same === same) return kept;
        const li = RENDER[kind](item);
        li.dataset.same = same;
        return li;
      }),
    );
    $(`group-${kind}`).hidden = items.length === 0;
  }
  showFace(view.items.length ? "face-list" : "face-empty");
  if (highlighted) $(`item-${highlighted}`)?.classList.add("focused");
  const again = activeItem && $(activeItem.id)?.querySelectorAll(CONTROLS)[place];
  if (again) {
    again.focus();
    if (caret != null && again.setSelectionRange) again.setSelectionRange(caret, caret);
  }
  applyFocus();
}

// Opens the inbox at the item a notification was about: in view, highlighted, its first control
// focused (the answer box, else its main button), a message opened.
let highlighted = null;
function applyFocus() {
  if (!focusId) return;
  const li = $(`item-${focusId}`);
  if (!li) return;
  highlighted = focusId;
  focusId = null;
  document.querySelectorAll(".list > li.focused").forEach((el) => el.classList.remove("focused"));
  li.classList.add("focused");
  li.scrollIntoView({ block: "nearest" });
  li.querySelector(".answer-input, button.primary, button")?.focus();
  if (li.dataset.kind === "message") li.querySelector("[aria-controls]")?.click();
}

let loading = null;
let again = false;
let signedIn = false;
function refresh() {
  if (!signedIn) return;
  if (loading) return void (again = true);
  if ($("face-list").hidden && $("face-empty").hidden) showFace("face-loading");
  loading = invoke("inbox_items")
    .then(render)
    .catch((error) => {
      $("error").textContent = error.message ?? String(error);
      showFace("face-error");
    })
    .finally(() => {
      loading = null;
      if (again) {
        again = false;
        refresh();
      }
    });
}

$("retry").addEventListener("click", refresh);
await listen("inbox://focus", ({ payload }) => {
  focusId = payload;
  applyFocus();
  refresh();
});
const CHANGES = new Set(["notifications_changed", "pending_item", "pending_item_resolved"]);
await listen("core://event", ({ payload }) => CHANGES.has(payload.type) && refresh());
focusId = (await invoke("inbox_focus")) ?? focusId;
await startWindow((state) => {
  signedIn = state.signed_in;
  if (!signedIn) return showFace("face-signed-out");
  refresh();
});
