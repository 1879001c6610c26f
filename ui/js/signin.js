import { startWindow } from "./common.js";

await startWindow(() => {});
