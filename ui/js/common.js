// Shared by every window: strings, the app's state, and the few calls a window may make.
// Windows never talk to the API; they ask the app shell (invoke) and listen to its events.

const tauri = window.__TAURI__;

export const invoke = (cmd, args) => tauri.core.invoke(cmd, args);
export const listen = (event, handler) => tauri.event.listen(event, handler);
export const currentWindow = () => tauri.window.getCurrentWindow();

let strings = {};

/**
 * The string for `key` in the current language (the key itself if missing), its `{name}`
 * placeholders filled from `vars`: t("signin.signed_in_as", { name: "Ada" }). A placeholder `vars`
 * does not name stays as it is; values are filled once, never read as placeholders themselves.
 * The shell fills its strings the same way (`t` in src-tauri/src/view/i18n.rs).
 */
export const t = (key, vars = {}) =>
  (strings[key] ?? key).replace(/\{(\w+)\}/g, (placeholder, name) => (Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : placeholder));

/** A shortcut as the keys a person presses (the stored form says CommandOrControl for macOS). */
export const shortcutText = (hotkey) =>
  (hotkey ?? "").replace("CommandOrControl", navigator.platform.startsWith("Mac") ? "Cmd" : "Ctrl");

/** Fills every element marked with data-i18n / data-i18n-placeholder / data-i18n-label. */
export function applyStrings(root = document) {
  root.querySelectorAll("[data-i18n]").forEach((el) => (el.textContent = t(el.dataset.i18n)));
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => (el.placeholder = t(el.dataset.i18nPlaceholder)));
  root.querySelectorAll("[data-i18n-label]").forEach((el) => el.setAttribute("aria-label", t(el.dataset.i18nLabel)));
}

async function loadStrings(lang) {
  const response = await fetch(`i18n/${lang}.json`);
  strings = await response.json();
  document.documentElement.lang = lang;
  applyStrings();
}

/** A server code in words (`<prefix>.<value>`, e.g. `goal.status.needs_input`); a code the app
 *  has no words for is shown as the server names it, readable. */
export function serverWord(prefix, value) {
  if (!value) return "";
  const key = `${prefix}.${value}`;
  const known = t(key);
  return known === key ? value.replaceAll("_", " ") : known;
}

/** A button that runs `onClick`; never a form's submit button. */
export function button(label, onClick, className = "") {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (className) b.className = className;
  b.addEventListener("click", onClick);
  return b;
}

/** The label key of each goal action (`GoalActionKind` as the shell serializes it). */
export const GOAL_ACTIONS = {
  approve_step: "ask.goal.approve",
  accept_outcome: "ask.goal.accept",
  continue_negotiating: "ask.goal.continue",
  approve_budget: "goal.action.approve_budget",
  acknowledge_soft_cap: "goal.action.acknowledge_soft_cap",
  cancel: "ask.goal.cancel",
};

/**
 * Server text as DOM nodes, never HTML: text nodes, with web links made clickable and opened
 * through the app's opener (which checks them), never by the webview.
 */
export function linkified(text) {
  const source = text ?? "";
  const nodes = [];
  let last = 0;
  for (const match of source.matchAll(/https?:\/\/[^\s<>"')]+/g)) {
    nodes.push(document.createTextNode(source.slice(last, match.index)));
    nodes.push(webLink(match[0], match[0]));
    last = match.index + match[0].length;
  }
  nodes.push(document.createTextNode(source.slice(last)));
  return nodes;
}

/**
 * A link to a web address saying `text`, opened through the app's opener (which checks it), never
 * by the webview; anything but an http(s) address is only its text.
 */
export function webLink(href, text) {
  if (!/^https?:\/\//i.test(href)) return document.createTextNode(text);
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  a.addEventListener("click", (event) => {
    event.preventDefault();
    invoke("open_link", { url: href });
  });
  return a;
}

// Who speaks in a transcript: KallyAI's side by name, the other side by the name the call gives
// them (`other`), a speaker the app does not know as the server names it.
const AI_SPEAKERS = new Set(["ai", "assistant", "agent", "kallyai"]);
const OTHER_SPEAKERS = new Set(["human", "caller", "callee", "user"]);
export function speakerName(speaker, other) {
  const said = String(speaker ?? "").toLowerCase();
  if (AI_SPEAKERS.has(said)) return t("activity.speaker.ai");
  return OTHER_SPEAKERS.has(said) && other ? other : String(speaker ?? "");
}

/** A transcript line: who, in bold, then what they said (server text, never HTML). */
export function transcriptLine(speaker, content, other) {
  const li = document.createElement("li");
  const who = document.createElement("strong");
  who.className = "speaker";
  who.textContent = `${speakerName(speaker, other)}: `;
  li.append(who, document.createTextNode(content ?? ""));
  return li;
}

/** Shows exactly one of the elements with class "face" (empty, loading, error, signed out...). */
export function showFace(id) {
  document.querySelectorAll(".face").forEach((el) => (el.hidden = el.id !== id));
}

/**
 * Starts a window: loads strings, reads the app state, calls `render(state)` now and whenever the
 * shell says the state changed. Esc closes the window (the quick-ask box only hides; the shell
 * gives focus back).
 */
export async function startWindow(render) {
  // Listens before asking, so no state sent meanwhile is missed; draws one state at a time and
  // only a newer one than drawn (states sent and read carry the shell's revision).
  let drawn = -1;
  let stringsLang = null;
  let queue = Promise.resolve();
  const draw = (state) => {
    queue = queue.then(async () => {
      if (state.revision <= drawn) return;
      drawn = state.revision;
      if (state.lang !== stringsLang) {
        await loadStrings(state.lang);
        stringsLang = state.lang;
      }
      render(state);
    });
    return queue;
  };
  await listen("app://state", (event) => draw(event.payload));
  await draw(await invoke("app_state"));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.defaultPrevented) currentWindow().close();
  });
  document.querySelectorAll("[data-action=signin]").forEach((button) =>
    button.addEventListener("click", () => invoke("show_window", { name: "signin" })),
  );
  document.body.dataset.ready = "true";
  if (document.visibilityState === "visible") reportPainted();
}

// Tells the shell when the window has painted after being shown (second animation frame): the
// moment a user sees it. Tests and benchmarks wait on this instead of guessing. Registered at
// import, so a window shown while the page is still starting is not missed.
function reportPainted() {
  requestAnimationFrame(() => requestAnimationFrame(() => invoke("window_painted")));
}
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") reportPainted();
});
