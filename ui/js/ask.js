import { startWindow, listen, invoke } from "./common.js";

const input = document.getElementById("ask-input");

// A prefill arrives with --ask TEXT or kallyai://ask?q=TEXT; the box is already loaded (hidden).
function prefill(text) {
  if (text) input.value = text;
  input.focus();
  input.select();
}

await startWindow((state) => {
  document.getElementById("face-signed-out").hidden = state.signed_in;
});
await listen("ask://prefill", (event) => prefill(event.payload));
window.addEventListener("focus", () => input.focus());
prefill(await invoke("take_ask_prefill"));
