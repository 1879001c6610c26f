// The credits window's chart: credits used per day over the period, the daily allowance as a
// line, built as SVG from core's numbers (credit_pace.rs) with DOM APIs, and the same figures as
// a list for screen readers.
import { t } from "./common.js";
import { formatCredits, formatDay } from "./format.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 360;
const HEIGHT = 120;
const AXIS = 16; // room under the bars for the first and last day

function node(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text != null) element.textContent = text;
  return element;
}

/** Draws `pace` (core's CreditPace) into the <svg> `chart` and the list `days`. */
export function drawPace(chart, days, pace) {
  const spent = pace.days.map((d) => d.credits ?? 0);
  const top = Math.max(pace.daily_allowance, ...spent, 1) * 1.15;
  const plot = HEIGHT - AXIS;
  const y = (credits) => plot - (credits / top) * plot;
  const slot = WIDTH / pace.days.length;
  const parts = [node("line", { x1: 0, x2: WIDTH, y1: plot, y2: plot, class: "axis" })];
  pace.days.forEach((day, i) => {
    const x = i * slot + slot * 0.15;
    const width = Math.max(1, slot * 0.7);
    if (day.credits == null) {
      // Not known, or still to come: a tick on the axis, no bar.
      parts.push(node("rect", { x, y: plot - 1, width, height: 1, class: day.date > pace.today ? "future" : "unknown" }));
    } else if (day.credits > 0) {
      const over = day.credits > pace.daily_allowance;
      parts.push(node("rect", { x, y: y(day.credits), width, height: plot - y(day.credits), class: over ? "bar over" : "bar", "data-date": day.date }));
    }
  });
  const allowance = y(pace.daily_allowance);
  parts.push(node("line", { x1: 0, x2: WIDTH, y1: allowance, y2: allowance, class: "allowance" }));
  parts.push(node("text", { x: WIDTH, y: allowance - 4, "text-anchor": "end", class: "label" },
    t("credits.pace.allowance", { credits: formatCredits(pace.daily_allowance) })));
  const first = pace.days[0]?.date;
  const last = pace.days.at(-1)?.date;
  parts.push(node("text", { x: 0, y: HEIGHT - 3, class: "label" }, formatDay(first)));
  parts.push(node("text", { x: WIDTH, y: HEIGHT - 3, "text-anchor": "end", class: "label" }, formatDay(last)));
  chart.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  chart.setAttribute("aria-label", t("credits.pace.summary", {
    from: formatDay(first), to: formatDay(last), credits: formatCredits(pace.daily_allowance),
  }));
  chart.replaceChildren(...parts);

  const told = pace.days.filter((d) => d.date <= pace.today).map((d) => {
    const li = document.createElement("li");
    li.textContent = d.credits == null
      ? t("credits.pace.day_unknown", { date: formatDay(d.date) })
      : t("credits.pace.day", { date: formatDay(d.date), credits: formatCredits(d.credits) });
    return li;
  });
  days.replaceChildren(...told);
}

/** The forecast sentence: when credits run out at this pace, and when the plan renews. */
export function forecast(pace) {
  const renews = formatDay(pace.renews_on);
  switch (pace.outlook.kind) {
    case "out": return t("credits.pace.out", { renews });
    case "runs_out": return t("credits.pace.runs_out", { date: formatDay(pace.outlook.on), renews });
    default: return t("credits.pace.lasts", { renews });
  }
}
