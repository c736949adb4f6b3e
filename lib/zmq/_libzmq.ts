/**
 * libzmq's C API through Deno's FFI, for the subscriber process.
 *
 * zeromq's JavaScript binding waits for messages through a libuv poll handle
 * that Deno's N-API layer does not wake reliably (a pending `receive()` can
 * stay pending for ever after a reconnect). The C API's blocking
 * `zmq_msg_recv`, run on one of Deno's blocking threads (`nonblocking: true`
 * FFI calls), has no such problem and needs no polling. The library is the one
 * inside the zeromq package (its native addon exports the C API); a system
 * libzmq is tried after it.
 *
 * @module
 */

const SYMBOLS = {
  zmq_ctx_new: { parameters: [], result: "pointer" },
  zmq_socket: { parameters: ["pointer", "i32"], result: "pointer" },
  zmq_setsockopt: {
    parameters: ["pointer", "i32", "buffer", "usize"],
    result: "i32",
  },
  zmq_connect: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_socket_monitor: {
    parameters: ["pointer", "buffer", "i32"],
    result: "i32",
  },
  zmq_msg_init: { parameters: ["buffer"], result: "i32" },
  zmq_msg_recv: { parameters: ["buffer", "pointer", "i32"], result: "i32" },
  zmq_msg_recv_wait: {
    name: "zmq_msg_recv",
    parameters: ["buffer", "pointer", "i32"],
    result: "i32",
    nonblocking: true,
  },
  zmq_msg_data: { parameters: ["buffer"], result: "pointer" },
  zmq_msg_size: { parameters: ["buffer"], result: "usize" },
  zmq_msg_more: { parameters: ["buffer"], result: "i32" },
  zmq_msg_close: { parameters: ["buffer"], result: "i32" },
  zmq_errno: { parameters: [], result: "i32" },
  zmq_close: { parameters: ["pointer"], result: "i32" },
  zmq_ctx_shutdown: { parameters: ["pointer"], result: "i32" },
  zmq_ctx_term_wait: {
    name: "zmq_ctx_term",
    parameters: ["pointer"],
    result: "i32",
    nonblocking: true,
  },
  zmq_strerror: { parameters: ["i32"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The loaded library. */
export type LibZmq = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** Socket types and options used. */
export const ZMQ_PAIR = 0;
/** `ZMQ_SUB`. */
export const ZMQ_SUB = 2;
/** `ZMQ_SUBSCRIBE`. */
export const ZMQ_SUBSCRIBE = 6;
/** `ZMQ_LINGER`. */
export const ZMQ_LINGER = 17;
/** `ZMQ_RCVHWM`. */
export const ZMQ_RCVHWM = 24;
/** `ZMQ_DONTWAIT`. */
export const ZMQ_DONTWAIT = 1;
/** Monitor event: connection made. */
export const ZMQ_EVENT_CONNECTED = 0x0001;
/** Monitor event: connection lost. */
export const ZMQ_EVENT_DISCONNECTED = 0x0200;
/** Size of `zmq_msg_t`. */
export const ZMQ_MSG_SIZE = 64;

/** Where the zeromq package's main module is, as a `file:` URL, if found. */
async function zeromqMain(): Promise<string | undefined> {
  // Through the import map; from a copy without one (a published package run
  // on its own), the npm package itself.
  for (const specifier of ["zeromq", ["npm:zeromq", "6"].join("@")]) {
    try {
      let main = import.meta.resolve(specifier);
      if (!main.startsWith("file:")) {
        // Not installed yet: loading it installs it.
        await import(specifier);
        main = import.meta.resolve(specifier);
      }
      if (main.startsWith("file:")) return main;
    } catch {
      // Try the next one.
    }
  }
  return undefined;
}

async function candidates(): Promise<string[]> {
  const paths: string[] = [];
  try {
    const main = await zeromqMain();
    if (main !== undefined) {
      const arch = Deno.build.arch === "x86_64" ? "x64" : "arm64";
      const os = Deno.build.os === "windows" ? "win32" : Deno.build.os;
      const dir = new URL(`../build/${os}/${arch}/node/`, main);
      const names: string[] = [];
      for (const entry of Deno.readDirSync(dir)) {
        if (entry.isDirectory) names.push(entry.name);
      }
      // Prefer glibc builds on glibc systems, newest N-API first.
      const rank = (name: string) =>
        (name.startsWith("glibc") ? 2 : name.startsWith("musl") ? 0 : 1) *
          1000 + Number(/(\d+)/.exec(name)?.[1] ?? 0);
      names.sort((a, b) => rank(b) - rank(a));
      for (const name of names) {
        paths.push(new URL(`${name}/addon.node`, dir).pathname);
      }
    }
  } catch {
    // Not readable here: only system libraries.
  }
  paths.push("libzmq.so.5", "libzmq.5.dylib", "libzmq.dll");
  return paths;
}

/**
 * Opens libzmq.
 *
 * @throws {Error} When no candidate library loads.
 */
export async function openLibZmq(): Promise<LibZmq> {
  const failures: string[] = [];
  for (const path of await candidates()) {
    try {
      return Deno.dlopen(path, SYMBOLS).symbols;
    } catch (error) {
      failures.push(`${path}: ${(error as Error).message}`);
    }
  }
  throw new Error(`Cannot load libzmq: ${failures.join("; ")}`);
}

/** The message of libzmq's last error on this thread. */
export function lastError(lib: LibZmq): string {
  const code = lib.zmq_errno();
  const pointer = lib.zmq_strerror(code);
  const text = pointer === null
    ? "unknown error"
    : Deno.UnsafePointerView.getCString(pointer);
  return `${text} (errno ${code})`;
}

/** A NUL-terminated C string. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${text}\0`);
}
