// The server side of SPDY/3 as Kubernetes speaks it for exec (`Upgrade: SPDY/3.1`, framing of
// SPDY draft 3 as in moby/spdystream), and the remote command protocol v4.channel.k8s.io on top:
// the client opens one stream per channel (header `streamtype`: error, stdin, stdout, stderr,
// resize), the server replies to each, copies the output to stdout/stderr, writes the kubelet's
// Status JSON to the error stream and half-closes every stream. kubectl before 1.30 (Debian's is
// 1.20) execs only this way; later ones fall back to it when the WebSocket upgrade fails.

import { inflateSync, constants as zlibConstants } from "node:zlib";
import type { Duplex } from "node:stream";

/**
 * SPDY/3's header compression dictionary (draft 3, section 2.6.10.1): length-prefixed header
 * names and values, then a run of common value fragments. 1423 bytes, Adler-32 0xe3c6a7c2.
 */
export const SPDY3_DICTIONARY: Buffer = (() => {
  const words = [
    ...["options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding"],
    ...["accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection"],
    ...["content-base", "content-encoding", "content-language", "content-length", "content-location"],
    ...["content-md5", "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host"],
    ...["if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified"],
    ...["location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range"],
    ...["referer", "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent"],
    ...["vary", "via", "warning", "www-authenticate", "method", "get", "status", "200 OK", "version"],
    ...["HTTP/1.1", "url", "public", "set-cookie", "keep-alive", "origin"],
  ];
  const tail = [
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized",
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable",
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,",
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
  ].join("");
  const parts = words.flatMap((word) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(word.length);
    return [length, Buffer.from(word, "latin1")];
  });
  return Buffer.concat([...parts, Buffer.from(tail, "latin1")]);
})();

export function adler32(data: Buffer): number {
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

const VERSION = 3;
const TYPE = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goAway: 7,
  headers: 8,
  windowUpdate: 9,
};
const FLAG_FIN = 0x01;
const MAX_DATA = 32 * 1024;

export type SpdyHeaders = Record<string, string[]>;

/** Encodes header blocks into one zlib stream with SPDY's dictionary, as stored (uncompressed) deflate blocks. */
export class HeaderEncoder {
  private started = false;

  encode(headers: SpdyHeaders): Buffer {
    const parts: Buffer[] = [u32(Object.keys(headers).length)];
    for (const [name, values] of Object.entries(headers)) {
      const value = Buffer.from(values.join("\0"));
      parts.push(u32(name.length), Buffer.from(name.toLowerCase()), u32(value.length), value);
    }
    const block = Buffer.concat(parts);
    const out: Buffer[] = [];
    if (!this.started) {
      // CMF 0x78 (deflate, 32K window), FLG 0x20 (FDICT; 0x7820 % 31 == 0), then the dictionary's id.
      out.push(Buffer.from([0x78, 0x20]), u32(adler32(SPDY3_DICTIONARY)));
      this.started = true;
    }
    for (let offset = 0; offset < block.length; offset += 0xffff) {
      const chunk = block.subarray(offset, offset + 0xffff);
      const head = Buffer.alloc(5);
      head[0] = 0; // BFINAL 0, BTYPE 00 (stored): byte aligned, like a sync flush
      head.writeUInt16LE(chunk.length, 1);
      head.writeUInt16LE(~chunk.length & 0xffff, 3);
      out.push(head, chunk);
    }
    // An empty stored block ends the block as zlib's Z_SYNC_FLUSH does: Go's inflater hands out a
    // stored block's bytes only when the next block starts, which must be within this frame.
    out.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    return Buffer.concat(out);
  }
}

/** Decodes the header blocks of one direction: a single zlib stream over all of them (the client's). */
export class HeaderDecoder {
  private readonly compressed: Buffer[] = [];
  private inflated = 0;

  decode(block: Buffer): SpdyHeaders {
    this.compressed.push(block);
    // Re-inflating from the start keeps this synchronous; sessions carry a handful of small blocks.
    const all = inflateSync(Buffer.concat(this.compressed), {
      dictionary: SPDY3_DICTIONARY,
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
    });
    const fresh = all.subarray(this.inflated);
    this.inflated = all.length;
    return parseHeaderBlock(fresh);
  }
}

export function parseHeaderBlock(block: Buffer): SpdyHeaders {
  const headers: SpdyHeaders = {};
  let offset = 0;
  const take = (): Buffer => {
    const length = block.readUInt32BE(offset);
    const bytes = block.subarray(offset + 4, offset + 4 + length);
    if (bytes.length !== length) throw new Error("truncated SPDY header block");
    offset += 4 + length;
    return bytes;
  };
  const count = block.readUInt32BE(0);
  offset = 4;
  for (let i = 0; i < count; i++) {
    const name = take().toString().toLowerCase();
    (headers[name] ??= []).push(...take().toString().split("\0"));
  }
  return headers;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | VERSION, 0);
  head.writeUInt16BE(type, 2);
  head.writeUInt32BE(payload.length, 4);
  head[4] = flags;
  return Buffer.concat([head, payload]);
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head.writeUInt32BE(data.length, 4);
  head[4] = flags;
  return Buffer.concat([head, data]);
}

export interface SpdySessionEvents {
  /** The client opened a stream (SYN_STREAM). `fin`: it will send nothing on it. */
  stream(id: number, headers: SpdyHeaders, fin: boolean): void;
  data(id: number, data: Buffer): void;
  /** The client half-closed the stream (FIN), or reset it. */
  end(id: number, reset: boolean): void;
  /** The connection is gone (closed, errored, GOAWAY or a frame this server cannot read). */
  close(): void;
}

/** One SPDY/3 session over an upgraded connection, server side; streams are opened by the client. */
export class SpdySession {
  private buffered = Buffer.alloc(0);
  private readonly decoder = new HeaderDecoder();
  private readonly encoder = new HeaderEncoder();
  private closed = false;

  constructor(
    private readonly socket: Duplex,
    private readonly events: SpdySessionEvents,
  ) {
    socket.on("data", (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      try {
        this.drain();
      } catch {
        this.destroy();
      }
    });
    socket.on("close", () => {
      this.markClosed();
    });
    socket.on("error", () => {
      this.markClosed();
    });
  }

  isOpen(): boolean {
    return !this.closed;
  }

  /** Feeds bytes that arrived with the upgrade request, before the socket's first data event. */
  receive(head: Buffer): void {
    if (head.length === 0) return;
    this.buffered = Buffer.concat([this.buffered, head]);
    this.drain();
  }

  reply(id: number, headers: SpdyHeaders = {}): void {
    this.write(
      controlFrame(TYPE.synReply, 0, Buffer.concat([u32(id & 0x7fffffff), this.encoder.encode(headers)])),
    );
  }

  send(id: number, data: Buffer): void {
    for (let offset = 0; offset < data.length; offset += MAX_DATA) {
      this.write(dataFrame(id, 0, data.subarray(offset, offset + MAX_DATA)));
    }
  }

  /** Half-closes the stream from the server's side (an empty data frame with FIN). */
  finish(id: number): void {
    this.write(dataFrame(id, FLAG_FIN, Buffer.alloc(0)));
  }

  /** GOAWAY (status OK) and the end of the connection, as spdystream's Connection.Close. */
  goAway(lastGoodStreamId: number): void {
    this.write(controlFrame(TYPE.goAway, 0, Buffer.concat([u32(lastGoodStreamId), u32(0)])));
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
    this.markClosed();
  }

  private write(frame: Buffer): void {
    if (!this.closed) this.socket.write(frame);
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.events.close();
  }

  private drain(): void {
    while (this.buffered.length >= 8) {
      const length = this.buffered.readUInt32BE(4) & 0xffffff;
      if (this.buffered.length < 8 + length) return;
      const frame = this.buffered.subarray(0, 8 + length);
      this.buffered = this.buffered.subarray(8 + length);
      this.handle(frame);
    }
  }

  private handle(frame: Buffer): void {
    const flags = frame[4] ?? 0;
    const payload = frame.subarray(8);
    if ((frame[0] ?? 0) & 0x80) {
      const version = frame.readUInt16BE(0) & 0x7fff;
      if (version !== VERSION) throw new Error(`SPDY version ${version}`);
      const type = frame.readUInt16BE(2);
      const id = payload.length >= 4 ? payload.readUInt32BE(0) & 0x7fffffff : 0;
      switch (type) {
        case TYPE.synStream:
          this.events.stream(id, this.decoder.decode(payload.subarray(10)), (flags & FLAG_FIN) !== 0);
          return;
        case TYPE.headers:
          this.decoder.decode(payload.subarray(4)); // keeps the zlib stream in step
          if (flags & FLAG_FIN) this.events.end(id, false);
          return;
        case TYPE.rstStream:
          this.events.end(id, true);
          return;
        case TYPE.ping:
          this.write(frame);
          return;
        case TYPE.goAway:
          this.socket.end();
          this.markClosed();
          return;
        default:
          return; // SETTINGS, WINDOW_UPDATE (spdystream does no flow control)
      }
    }
    const id = frame.readUInt32BE(0) & 0x7fffffff;
    if (payload.length > 0) this.events.data(id, Buffer.from(payload));
    if (flags & FLAG_FIN) this.events.end(id, false);
  }
}
