/**
 * Recirculation ids as ofproto/trace prints them (in hex, and in decimal in a controller action's
 * continuation): ovs-vswitchd hands out new ones for each trace.
 */
const RECIRC = /(recirc\(|recirc_id=)(?:0x[0-9a-f]+|\d+)/g;

/**
 * A run's reports without what differs between two runs of the same trace: how long each step took and the
 * recirculation ids.
 */
export function comparableRun(x: unknown): unknown {
  return JSON.parse(
    JSON.stringify(x, (k, v: unknown) =>
      k === "durationMs"
        ? 0
        : typeof v === "string"
          ? v.replace(RECIRC, "$1ID")
          : k === "recircId"
            ? "ID"
            : v,
    ),
  );
}
