// The same signal as the app's ui/js/common.js: after the window is shown, the second animation
// frame means a frame has been painted; the page tells the process, which logs it.
const invoke = (cmd) => window.__TAURI__.core.invoke(cmd);

function reportPainted() {
  requestAnimationFrame(() => requestAnimationFrame(() => invoke("window_painted")));
}
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") reportPainted();
});
// Esc hides the window, as in the app's windows.
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") invoke("hide_window");
});
if (document.visibilityState === "visible") reportPainted();
