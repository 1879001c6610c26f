import { startWindow, showFace, invoke, listen, t } from "./common.js";
import { formatCredits, formatDate } from "./format.js";
import { drawPace, forecast } from "./pace-chart.js";

const $ = (id) => document.getElementById(id);
const RECENT = 20;

function items(list, render) {
  return list.map((item) => {
    const li = document.createElement("li");
    li.textContent = render(item);
    return li;
  });
}

function renderBalance(view) {
  const b = view.balance;
  if (!b) return showFace("face-loading");
  $("balance").textContent = view.summary ?? "";
  $("out").hidden = !view.out_of_credits && b.credits_remaining > 0;
  $("low").hidden = !view.low || !$("out").hidden;
  const share = b.credits_allocated > 0 ? Math.min(1, b.credits_used / b.credits_allocated) : 0;
  $("meter").setAttribute("aria-valuemax", String(b.credits_allocated));
  $("meter").setAttribute("aria-valuenow", String(b.credits_used));
  $("meter-fill").style.width = `${Math.round(share * 100)}%`;
  $("plan").textContent = b.plan_type ?? "";
  $("period").textContent = b.period_start && b.period_end ? `${formatDate(b.period_start)} – ${formatDate(b.period_end)}` : "";
  $("used").textContent = t("credits.used_of", { used: formatCredits(b.credits_used), credits: formatCredits(b.credits_allocated) });
  showFace("face-balance");
}

async function loadDetails() {
  const details = await invoke("credits_details").catch(() => null);
  if (!details) return;
  const label = (key) => (key ?? "").replaceAll("_", " ");
  $("breakdown").replaceChildren(
    ...items(details.breakdown?.items ?? [], (i) => `${label(i.action_type)}: ${formatCredits(i.credits_total)} (${i.transaction_count}×)`),
  );
  // The newest entries only: the rest were read for the chart.
  $("history").replaceChildren(
    ...items((details.history?.entries ?? []).slice(0, RECENT), (e) => `${formatDate(e.timestamp)} · ${e.description ?? label(e.kind)}: ${formatCredits(e.credits)}`),
  );
  const costs = Object.entries(details.costs?.costs ?? {}).flatMap(([group, table]) =>
    Object.entries(table).map(([what, credits]) => `${label(group)} · ${label(what)}: ${formatCredits(credits)}`),
  );
  $("costs").replaceChildren(...items(costs, (line) => line));
  $("pace").hidden = !details.pace;
  if (details.pace) {
    drawPace($("chart"), $("chart-days"), details.pace);
    $("forecast").textContent = forecast(details.pace);
  }
}

$("manage-plan").addEventListener("click", async () => {
  $("plan-error").textContent = "";
  try {
    await invoke("manage_plan");
  } catch (error) {
    $("plan-error").textContent = error.message ?? String(error);
  }
});

let signedIn = false;
await startWindow(async (state) => {
  signedIn = state.signed_in;
  if (!signedIn) return showFace("face-signed-out");
  renderBalance(await invoke("credits_state"));
});
await listen("credits://state", ({ payload }) => signedIn && renderBalance(payload));
window.addEventListener("focus", () => signedIn && loadDetails());
document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && signedIn && loadDetails());
// The window is created when it is shown, and may be on screen before these listeners were.
if (signedIn) loadDetails();
