// The Activity window: calls either way, goals, the action log, newest first, a page at a time.
// The filter reads the kind again from the app; the search narrows what is loaded. A call's
// transcript and a goal's cost are read when asked; Undo asks the app, which re-reads the log.
import { startWindow, showFace, invoke, listen, t, button, linkified, serverWord, speakerName } from "./common.js";
import { formatCredits, formatDateTime } from "./format.js";

const $ = (id) => document.getElementById(id);
const list = $("items");

// What is loaded: the items of every page read so far, how many pages, where the next starts.
let kind = "all";
let items = [];
let pages = 0;
let next = null;
// What the user opened or was told, by item key: kept across redraws.
const opened = new Set();
const errors = new Map();

const keyOf = (item) => `${item.kind}-${item.id}`;


/** An item's status in words: the kind's own word where it has one (a call is "completada", a
 * goal "completado" in Spanish), else the common one. */
function statusWord(item) {
  const own = `activity.status.${item.kind}.${item.status}`;
  return item.status && t(own) !== own ? t(own) : serverWord("activity.status", item.status);
}

function paragraph(text, className = "") {
  const p = document.createElement("p");
  p.textContent = text ?? "";
  if (className) p.className = className;
  return p;
}

function fields(entries) {
  const dl = document.createElement("dl");
  for (const [label, value] of entries) {
    if (value == null || value === "" || (Array.isArray(value) && !value.length)) continue;
    const dt = document.createElement("dt");
    dt.textContent = t(label);
    const dd = document.createElement("dd");
    if (Array.isArray(value)) {
      const ul = document.createElement("ul");
      ul.className = "steps";
      for (const line of value) {
        const li = document.createElement("li");
        li.append(...linkified(line));
        ul.append(li);
      }
      dd.append(ul);
    } else {
      dd.append(...linkified(value));
    }
    dl.append(dt, dd);
  }
  return dl;
}

function shell(item, heading, meta) {
  const li = document.createElement("li");
  li.id = `item-${keyOf(item)}`;
  li.dataset.key = keyOf(item);
  li.dataset.kind = item.kind;
  li.dataset.id = item.id;
  const head = document.createElement("div");
  head.className = "row spread item-head";
  const title = document.createElement("h3");
  title.id = `title-${keyOf(item)}`;
  title.textContent = heading;
  li.setAttribute("aria-labelledby", title.id);
  const when = paragraph(formatDateTime(item.at), "muted when");
  head.append(title, when);
  li.append(head, paragraph(meta.filter(Boolean).join(" · "), "muted meta"));
  return li;
}

/** Ends an item: its buttons, then what one of them opens (`panel`), then its error line. */
function finish(li, item, actions, panel = null) {
  if (actions.length) {
    const bar = document.createElement("div");
    bar.className = "row";
    bar.append(...actions);
    li.append(bar);
  }
  if (panel) li.append(panel);
  const error = paragraph(errors.get(keyOf(item)) ?? "", "error item-error");
  error.setAttribute("role", "alert");
  li.append(error);
  return li;
}

/** A button that shows or hides `panel` (`what`: its id's prefix), filling it with `load()` the
 * first time it opens. */
function disclosure(item, what, label, panel, load) {
  const key = keyOf(item);
  const toggle = button(label, () => {
    const open = panel.hidden;
    panel.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    if (open) {
      opened.add(key);
      fill();
    } else {
      opened.delete(key);
    }
  });
  const fill = async () => {
    if (panel.dataset.loaded) return;
    panel.replaceChildren(paragraph(t("state.loading"), "muted"));
    try {
      panel.replaceChildren(...(await load()));
      panel.dataset.loaded = "true";
    } catch (failure) {
      panel.replaceChildren(paragraph(failure.message ?? String(failure), "error"));
    }
  };
  panel.id = `${what}-${key}`;
  panel.hidden = !opened.has(key);
  toggle.setAttribute("aria-controls", panel.id);
  toggle.setAttribute("aria-expanded", String(!panel.hidden));
  if (!panel.hidden) fill();
  return toggle;
}

// ---- calls: who, status, what was asked and what came of it; the transcript on demand
function callItem(item) {
  const who = item.who || t("activity.call.unknown");
  const heading = t(item.direction === "inbound" ? "activity.call.inbound" : "activity.call.outbound", { who });
  const meta = [t("activity.kind.call"), item.is_vip ? t("activity.call.vip") : null, statusWord(item)];
  if (item.number && item.number !== item.who) meta.push(item.number);
  const li = shell(item, heading, meta);
  li.append(
    fields([
      ["activity.call.task", item.task],
      ["activity.call.summary", item.summary],
      ["activity.call.highlights", item.highlights],
      ["activity.call.next_steps", item.next_steps],
    ]),
  );
  const panel = document.createElement("div");
  panel.className = "transcript";
  const toggle = disclosure(item, "transcript", t("activity.call.transcript"), panel, async () => {
    const entries = await invoke("activity_transcript", { direction: item.direction ?? "outbound", callId: item.id });
    if (!entries.length) return [paragraph(t("activity.call.no_transcript"), "muted")];
    const ol = document.createElement("ol");
    ol.setAttribute("aria-label", t("activity.call.transcript"));
    for (const entry of entries) {
      const line = document.createElement("li");
      const speaker = document.createElement("strong");
      speaker.textContent = `${speakerName(entry.speaker, item.who)}: `;
      line.append(speaker, ...linkified(entry.content));
      ol.append(line);
    }
    return [ol];
  });
  return finish(li, item, [toggle], panel);
}

// ---- goals: status and credits; the cost breakdown on demand
function goalItem(item) {
  const credits =
    item.credits_used != null && item.credits_estimated
      ? t("activity.goal.credits", { used: formatCredits(item.credits_used), estimated: formatCredits(item.credits_estimated) })
      : item.credits_used != null
        ? t("activity.goal.credits_used", { used: formatCredits(item.credits_used) })
        : null;
  const li = shell(item, item.title || t("ask.goal"), [t("activity.kind.goal"), statusWord(item), credits]);
  if (item.description && item.description !== item.title) li.append(paragraph(item.description));
  const panel = document.createElement("div");
  panel.className = "cost";
  const toggle = disclosure(item, "cost", t("activity.goal.cost"), panel, async () => {
    const cost = await invoke("activity_cost", { goalId: item.id });
    if (!cost.items.length) return [paragraph(t("activity.goal.no_cost"), "muted")];
    const table = document.createElement("dl");
    table.className = "cost-items";
    for (const charge of cost.items) {
      const dt = document.createElement("dt");
      dt.textContent = [serverWord("activity.type", charge.action), formatDateTime(charge.timestamp)].filter(Boolean).join(" · ");
      const dd = document.createElement("dd");
      dd.textContent = t("activity.goal.cost_item", { credits: formatCredits(charge.credits) });
      table.append(dt, dd);
    }
    return [table, paragraph(t("activity.goal.cost_total", { credits: formatCredits(cost.total_credits) }), "cost-total")];
  });
  return finish(li, item, [toggle], panel);
}

// ---- actions: what KallyAI did; Undo where the log says it can be undone
function actionItem(item) {
  const li = shell(item, item.description || serverWord("activity.type", item.action_type), [
    t("activity.kind.action"),
    serverWord("activity.type", item.action_type),
    statusWord(item),
  ]);
  if (!item.undoable) return finish(li, item, []);
  const undo = button(t("activity.action.undo"), () => runUndo(li, item));
  undo.className = "undo";
  return finish(li, item, [undo]);
}

async function runUndo(li, item) {
  const key = keyOf(item);
  li.querySelectorAll("button").forEach((b) => (b.disabled = true));
  errors.delete(key);
  li.querySelector(".item-error").textContent = "";
  try {
    const now = await invoke("activity_undo", { actionId: item.id });
    $("notice").textContent = t("activity.action.undone", { description: item.description });
    if (now) replace({ ...now, kind: "action" });
    else refresh();
  } catch (failure) {
    const sentence = failure.message ?? String(failure);
    errors.set(key, sentence);
    li.querySelector(".item-error").textContent = sentence;
    li.querySelectorAll("button").forEach((b) => (b.disabled = false));
    // What the log says of it now (undone elsewhere, no longer undoable): read, never assumed.
    refresh();
  }
}

const RENDER = { call: callItem, goal: goalItem, action: actionItem };

/** Puts `item` in the place of the loaded item with its key, and draws it again. */
function replace(item) {
  items = items.map((i) => (keyOf(i) === keyOf(item) ? item : i));
  render();
}

const searchable = (item) =>
  [item.who, item.number, item.task, item.summary, item.highlights, ...(item.next_steps ?? []), item.title, item.description,
    item.action_type, item.status, statusWord(item), serverWord("activity.type", item.action_type)]
    .filter(Boolean)
    .join("\n")
    .toLocaleLowerCase();

const CONTROLS = "button, input, textarea, select, a[href]";

function render() {
  // A redraw keeps where the user is: an item the app still lists unchanged keeps its node (an
  // open transcript stays open, a click being made lands), and the focused control is found again.
  const active = document.activeElement;
  const activeItem = active?.closest?.(".list > li");
  const place = activeItem ? [...activeItem.querySelectorAll(CONTROLS)].indexOf(active) : -1;
  const drawn = new Map([...list.children].map((li) => [li.dataset.key, li]));
  list.replaceChildren(
    ...items.map((item) => {
      const same = JSON.stringify([item, errors.get(keyOf(item)) ?? ""]);
      const kept = drawn.get(keyOf(item));
      if (kept?.dataset.same === same) return kept;
      const li = RENDER[item.kind]?.(item) ?? shell(item, item.id, []);
      li.dataset.same = same;
      li.dataset.text = searchable(item);
      return li;
    }),
  );
  $("more").hidden = !next;
  showFace(items.length ? "face-list" : "face-empty");
  applySearch();
  const again = activeItem && $(activeItem.id)?.querySelectorAll(CONTROLS)[place];
  if (again) again.focus();
}

function applySearch() {
  const query = $("search").value.trim().toLocaleLowerCase();
  let shown = 0;
  for (const li of list.children) {
    li.hidden = Boolean(query) && !li.dataset.text.includes(query);
    if (!li.hidden) shown += 1;
  }
  const none = Boolean(query) && items.length > 0 && shown === 0;
  $("no-match").hidden = !none;
  $("no-match").textContent = none ? t("activity.no_match", { query: $("search").value.trim() }) : "";
}

function showUnread(unread) {
  const note = $("unread");
  note.hidden = !unread.length;
  note.textContent = unread.length ? t("activity.unread", { message: unread.map((u) => u.message).join(" ") }) : "";
}

// Reads pages from the start until as many as are shown (a refresh keeps what "Show more" added),
// or one more page (`extra`). One read at a time; a change of kind meanwhile reads again.
let loading = null;
let again = false;
let signedIn = false;
function load(extra = false) {
  if (!signedIn) return;
  if (loading) return void (again = true);
  const reading = kind;
  const want = Math.max(1, pages + (extra ? 1 : 0));
  if ($("face-list").hidden && $("face-empty").hidden) showFace("face-loading");
  loading = (async () => {
    let read = [];
    let cursor = null;
    let count = 0;
    let unread = [];
    do {
      const page = await invoke("activity_page", { kind: reading, cursor });
      read = read.concat(page.items);
      unread = page.unread;
      cursor = page.next;
      count += 1;
    } while (cursor && count < want);
    if (reading !== kind) return;
    // Items read on two pages (the lists moved meanwhile) are shown once.
    const seen = new Set();
    items = read.filter((i) => !seen.has(keyOf(i)) && seen.add(keyOf(i)));
    pages = count;
    next = cursor;
    showUnread(unread);
    render();
  })()
    .catch((error) => {
      $("error").textContent = error.message ?? String(error);
      showFace("face-error");
    })
    .finally(() => {
      loading = null;
      if (again) {
        again = false;
        load();
      }
    });
  return loading;
}

const refresh = () => load(false);

document.querySelectorAll("input[name=kind]").forEach((radio) =>
  radio.addEventListener("change", () => {
    if (!radio.checked) return;
    kind = radio.value;
    items = [];
    pages = 0;
    next = null;
    list.replaceChildren();
    showFace("face-loading");
    load();
  }),
);
$("search").addEventListener("input", applySearch);
$("more").addEventListener("click", () => load(true));
$("retry").addEventListener("click", refresh);
const CHANGES = new Set(["call_ended", "call_ringing"]);
await listen("core://event", ({ payload }) => CHANGES.has(payload.type) && refresh());
window.addEventListener("focus", refresh);
await startWindow((state) => {
  signedIn = state.signed_in;
  if (!signedIn) return showFace("face-signed-out");
  refresh();
});
