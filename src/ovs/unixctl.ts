import { closeSync, openSync } from "node:fs";
import { connect } from "node:net";
import { basename, dirname } from "node:path";

/** What a unixctl command answered: its text, or the error the daemon replied with. */
export type UnixctlReply =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly error: string };

/** Longest path a Unix socket address holds on Linux (sun_path is 108 bytes with its NUL). */
const MAX_SOCKET_PATH = 107;

/**
 * Calls one unixctl command of an OVS/OVN daemon, as `ovs-appctl -t SOCKET METHOD PARAMS...` does, without
 * starting a process: JSON-RPC 1.0 over the daemon's control socket, one request per connection. Rejects only
 * when the daemon cannot be reached or does not answer within `timeoutMs`.
 */
export function unixctlCall(
  socket: string,
  method: string,
  params: readonly string[],
  timeoutMs: number,
): Promise<UnixctlReply> {
  // a socket path longer than sun_path is reached through its directory's descriptor, as OVS itself does
  const dirFd = socket.length > MAX_SOCKET_PATH ? openSync(dirname(socket), "r") : undefined;
  const path = dirFd === undefined ? socket : `/proc/self/fd/${String(dirFd)}/${basename(socket)}`;
  return new Promise<UnixctlReply>((resolve, reject) => {
    const conn = connect(path);
    let text = "";
    let settled = false;
    const done = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.destroy();
      if (dirFd !== undefined) closeSync(dirFd);
      settle();
    };
    const timer = setTimeout(() => {
      done(() => {
        reject(new Error(`${socket}: no answer to "${method}" within ${String(timeoutMs)} ms`));
      });
    }, timeoutMs);
    conn.setEncoding("utf8");
    conn.on("connect", () => conn.write(JSON.stringify({ id: 0, method, params })));
    conn.on("data", (chunk: string) => {
      text += chunk;
      // the reply is one JSON object; a chunk that does not end it leaves it unparseable until the next one
      if (!text.trimEnd().endsWith("}")) return;
      let reply: { result?: unknown; error?: unknown };
      try {
        reply = JSON.parse(text) as { result?: unknown; error?: unknown };
      } catch {
        return;
      }
      done(() => {
        resolve(
          reply.error === null || reply.error === undefined
            ? { ok: true, text: typeof reply.result === "string" ? reply.result : "" }
            : {
                ok: false,
                error: typeof reply.error === "string" ? reply.error : JSON.stringify(reply.error),
              },
        );
      });
    });
    conn.on("error", (e) => {
      done(() => {
        reject(new Error(`${socket}: ${e.message}`));
      });
    });
    conn.on("close", () => {
      done(() => {
        reject(new Error(`${socket}: closed before answering "${method}"`));
      });
    });
  });
}
