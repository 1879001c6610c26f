import { startWindow, showFace, invoke, t, currentWindow, shortcutText } from "./common.js";

// Buttons ask the shell; the shell answers with a new app state (app://state), which redraws.
const act = (command) => async () => {
  try {
    await invoke(command);
  } catch (error) {
    document.getElementById("failure").textContent = error.message ?? String(error);
    showFace("face-failed");
  }
};
document.getElementById("start").addEventListener("click", act("signin_start"));
document.getElementById("retry").addEventListener("click", act("signin_start"));
document.getElementById("reopen").addEventListener("click", act("signin_reopen"));
document.getElementById("cancel").addEventListener("click", act("signin_cancel"));
document.getElementById("sign-out").addEventListener("click", act("sign_out"));
document.getElementById("close").addEventListener("click", () => currentWindow().close());

await startWindow((state) => {
  const signin = state.signin;
  if (state.signed_in) {
    const who = state.account_name ? t("signin.signed_in_as", { name: state.account_name }) : t("signin.signed_in");
    document.getElementById("account").textContent = who;
    document.getElementById("not-saved").hidden = state.session_saved;
    showFace("face-signed-in");
  } else if (signin.phase === "waiting") {
    showFace("face-waiting");
  } else if (signin.phase === "failed") {
    document.getElementById("failure").textContent = signin.message ?? "";
    showFace("face-failed");
  } else {
    document.getElementById("keyring-locked").hidden = !state.keyring_locked;
    document.getElementById("welcome-hotkey").textContent = t("signin.welcome.hotkey", { hotkey: shortcutText(state.hotkey) });
    showFace("face-idle");
  }
});
