import { startWindow, showFace, invoke, listen, t } from "./common.js";
import { formatDateTime } from "./format.js";

const list = document.getElementById("calls");

function row(call) {
  const li = document.createElement("li");
  const head = document.createElement("div");
  head.className = "row spread";
  const who = document.createElement("strong");
  who.textContent = (call.is_vip ? "★ " : "") + (call.caller_name || call.caller_number || "");
  const meta = document.createElement("span");
  meta.className = "muted";
  meta.textContent = `${formatDateTime(call.created_at)} · ${call.status}`;
  head.append(who, meta);
  const summary = document.createElement("p");
  summary.textContent = call.summary ?? "";
  const open = document.createElement("button");
  open.textContent = t("calls.open");
  open.addEventListener("click", () => invoke("show_call", { callId: call.id }));
  li.append(head, summary, open);
  return li;
}

let loading = null;
async function refresh(state) {
  if (!state.signed_in) return showFace("face-signed-out");
  if (!list.children.length) showFace("face-loading");
  loading ??= invoke("recent_calls")
    .then((calls) => {
      list.replaceChildren(...calls.map(row));
      showFace(calls.length ? "face-list" : "face-empty");
    })
    .catch((error) => {
      document.getElementById("error").textContent = error.message ?? String(error);
      showFace("face-error");
    })
    .finally(() => (loading = null));
}

let lastState = null;
await startWindow((state) => refresh((lastState = state)));
await listen("core://event", ({ payload }) => {
  if (lastState && (payload.type === "call_ended" || payload.type === "call_ringing")) refresh(lastState);
});
window.addEventListener("focus", () => lastState && refresh(lastState));
