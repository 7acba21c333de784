/** What the CLI runs when the process is interrupted: every registered cleanup (see ovs/interrupt.ts). */
export { interruptAll } from "../ovs/interrupt.js";
