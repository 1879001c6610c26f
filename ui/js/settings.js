import { startWindow } from "./common.js";

await startWindow((state) => {
  document.getElementById("api-base").textContent = state.api_base;
  document.getElementById("version").textContent = state.version;
});
