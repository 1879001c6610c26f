import { startWindow, showFace } from "./common.js";

await startWindow((state) => showFace(state.signed_in ? "face-empty" : "face-signed-out"));
