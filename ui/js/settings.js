import { startWindow, invoke, t, shortcutText } from "./common.js";

const $ = (id) => document.getElementById(id);
const CHECKBOXES = ["autostart", "notify_calls", "notify_approvals", "notify_messages", "notify_low_credits", "popup_on_top"];
let current = null;

function fill(view) {
  current = view.settings;
  $("hotkey").value = shortcutText(current.hotkey);
  for (const id of CHECKBOXES) $(id).checked = current[id];
  $("language").value = current.language ?? "";
  $("call_alert").value = current.call_alert;
  $("low_credit_percent").value = current.low_credit_percent;
  $("api_base").value = current.api_base ?? "";
  $("api_base").placeholder = view.api_base_in_use;
  $("hotkey-problem").textContent = view.hotkey_problem ?? "";
}

// The shortcut recorder: the next key combination pressed in the field becomes the shortcut.
const KEY_NAMES = { " ": "Space", ArrowUp: "Up", ArrowDown: "Down", ArrowLeft: "Left", ArrowRight: "Right" };
$("hotkey").addEventListener("keydown", (event) => {
  if (["Tab", "Escape"].includes(event.key)) return;
  event.preventDefault();
  event.stopPropagation();
  if (["Control", "Alt", "Shift", "Meta"].includes(event.key)) return;
  const parts = [];
  if (event.ctrlKey) parts.push("Ctrl");
  if (event.altKey) parts.push("Alt");
  if (event.shiftKey) parts.push("Shift");
  if (event.metaKey) parts.push("Super");
  const key = KEY_NAMES[event.key] ?? (event.code.startsWith("Key") ? event.code.slice(3) : event.code.startsWith("Digit") ? event.code.slice(5) : event.key);
  $("hotkey").value = [...parts, key].join("+");
});

$("form").addEventListener("submit", async (event) => {
  event.preventDefault();
  document.querySelectorAll(".field-error").forEach((el) => (el.textContent = ""));
  $("saved").textContent = "";
  const next = {
    ...current,
    hotkey: $("hotkey").value,
    language: $("language").value || null,
    call_alert: $("call_alert").value,
    low_credit_percent: Number($("low_credit_percent").value),
    api_base: $("api_base").value.trim() || null,
  };
  for (const id of CHECKBOXES) next[id] = $(id).checked;
  try {
    fill(await invoke("settings_set", { settings: next }));
    $("saved").textContent = t("settings.saved");
  } catch (error) {
    const field = $(`${error.field}-error`) ?? $("store-error");
    field.textContent = error.message ?? String(error);
  }
});

$("sign-out").addEventListener("click", () => invoke("sign_out"));

await startWindow(async (state) => {
  $("version").textContent = state.version;
  $("account").textContent = state.signed_in ? (state.account_name ? t("signin.signed_in_as", { name: state.account_name }) : t("signin.signed_in")) : t("state.signed_out");
  $("sign-out").hidden = !state.signed_in;
  $("sign-in").hidden = state.signed_in;
  if (!current) fill(await invoke("settings_get"));
});
window.addEventListener("focus", async () => fill(await invoke("settings_get")));
