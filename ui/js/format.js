// Numbers and dates as the window's language writes them: the one place the windows format them
// (the shell's one place is src-tauri/src/view/i18n.rs). The language is the page's `lang`, set
// by common.js when it loads the strings.

const lang = () => (typeof document !== "undefined" && document.documentElement.lang) || "en";

/**
 * Credits as people write them: whole numbers plain, others with one decimal ("458", "12.5").
 * The same rule as the tray's credits line (`format_credits` in view/i18n.rs), so a number reads
 * the same in the tray and in every window.
 */
export function formatCredits(value) {
  if (value == null || value === "") return "";
  const n = Number(value);
  if (!Number.isFinite(n)) return "";
  return Math.abs(n % 1) < 0.05 ? String(Math.round(n) || 0) : n.toFixed(1);
}

function parsed(iso) {
  const date = new Date(iso ?? "");
  return Number.isNaN(date.getTime()) ? null : date;
}

const DAY_AND_MONTH = { day: "numeric", month: "short" };

/** A day without its year: "Mar 1" (en), "1 mar" (es); "" for what is not a date. */
export function formatDate(iso) {
  return parsed(iso)?.toLocaleDateString(lang(), DAY_AND_MONTH) ?? "";
}

/** A moment: "Mar 1, 2026, 3:04 PM" (en), "1 mar 2026, 15:04" (es); "" for what is not a date. */
export function formatDateTime(iso) {
  return parsed(iso)?.toLocaleString(lang(), { dateStyle: "medium", timeStyle: "short" }) ?? "";
}

/** A calendar day as core sends it ("2026-12-22", the user's own day) without its year: "Dec 22"
 * (en), "22 dic" (es); "" for what is not one. Read as a local day, never as UTC midnight. */
export function formatDay(day) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day ?? "");
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).toLocaleDateString(lang(), DAY_AND_MONTH) : "";
}
