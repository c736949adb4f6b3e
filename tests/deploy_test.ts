/**
 * `deploy/evrmore-ws.service`, the systemd unit: parsed structurally here
 * (sections, hardening options, only known `EVR_WS_*` variables), and by
 * `systemd-analyze verify` when the machine has it (Debian's `systemd`
 * package; it works without systemd running). Without it, that test is
 * ignored with a note on stdout.
 *
 * Needs `--allow-read --allow-write --allow-env --allow-run`.
 */

import assert from "node:assert/strict";
import { envName, FLAGS } from "../lib/server/_flags.ts";

const UNIT = decodeURIComponent(
  new URL("../deploy/evrmore-ws.service", import.meta.url).pathname,
);

/** The unit's sections: name to a list of [key, value], in order. */
function parseUnit(text: string): Map<string, Array<[string, string]>> {
  const sections = new Map<string, Array<[string, string]>>();
  let current: Array<[string, string]> | undefined;
  text.split("\n").forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    const section = /^\[([A-Za-z]+)\]$/.exec(line);
    if (section) {
      assert.ok(!sections.has(section[1]!), `duplicate [${section[1]}]`);
      current = [];
      sections.set(section[1]!, current);
      return;
    }
    const pair = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    assert.ok(pair, `line ${index + 1} is not Key=value: ${raw}`);
    assert.ok(current, `line ${index + 1} comes before any section`);
    assert.ok(!raw.endsWith("\\"), `line ${index + 1}: no continuations`);
    current.push([pair[1]!, pair[2]!]);
  });
  return sections;
}

function values(
  section: Array<[string, string]> | undefined,
  key: string,
): string[] {
  return (section ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

Deno.test("deploy/evrmore-ws.service parses into [Unit], [Service], [Install] with the hardening options", async () => {
  const unit = parseUnit(await Deno.readTextFile(UNIT));
  assert.deepEqual([...unit.keys()], ["Unit", "Service", "Install"]);
  const service = unit.get("Service");
  assert.deepEqual(values(service, "ExecStart"), ["/usr/local/bin/evrmore-ws"]);
  const expected: Record<string, string> = {
    NoNewPrivileges: "yes",
    ProtectSystem: "strict",
    ProtectHome: "yes",
    PrivateTmp: "yes",
    DynamicUser: "yes",
    LimitNOFILE: "65536",
    KillSignal: "SIGTERM",
    Restart: "on-failure",
    CapabilityBoundingSet: "",
  };
  for (const [key, value] of Object.entries(expected)) {
    assert.deepEqual(values(service, key), [value], key);
  }
  // V8 needs writable code pages: this one must stay off.
  assert.deepEqual(values(service, "MemoryDenyWriteExecute"), []);
  assert.deepEqual(values(unit.get("Install"), "WantedBy"), [
    "multi-user.target",
  ]);
  // Every variable it sets is one server.ts reads.
  const known = new Set(FLAGS.map(envName).filter(Boolean));
  const set = values(service, "Environment").map((v) => v.split("=")[0]!);
  assert.ok(set.length > 0);
  for (const name of set) assert.ok(known.has(name), name);
});

Deno.test("deploy/evrmore-ws.service: the structural parser refuses a broken unit", () => {
  assert.throws(() => parseUnit("ExecStart=/bin/true\n"), /before any section/);
  assert.throws(() => parseUnit("[Service]\nnot a pair\n"), /Key=value/);
  assert.throws(() => parseUnit("[Unit]\n[Unit]\n"), /duplicate/);
});

function findSystemdAnalyze(): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      const path = `${dir}/systemd-analyze`;
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not there.
    }
  }
  return undefined;
}

const analyze = findSystemdAnalyze();
if (analyze === undefined) {
  console.log(
    "deploy_test: no systemd-analyze (apt-get install systemd); `systemd-analyze verify` is skipped, the structural check still runs",
  );
}

/**
 * `systemd-analyze verify` on a copy of the unit whose ExecStart is an
 * executable that exists here; returns its exit code and output. It exits
 * 0 on unknown keys and bad values too, only warning: any output counts.
 */
async function verify(text: string): Promise<{ code: number; output: string }> {
  const dir = await Deno.makeTempDir({ prefix: "evr-unit-" });
  try {
    const file = `${dir}/evrmore-ws.service`;
    await Deno.writeTextFile(
      file,
      text.replaceAll("/usr/local/bin/evrmore-ws", Deno.execPath()),
    );
    const { code, stdout, stderr } = await new Deno.Command(analyze!, {
      args: ["verify", "--man=no", file],
      env: { SYSTEMD_LOG_COLOR: "0" },
      stdin: "null",
    }).output();
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    return { code, output: (decode(stdout) + decode(stderr)).trim() };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name:
    "deploy/evrmore-ws.service passes systemd-analyze verify without a warning",
  ignore: analyze === undefined,
  async fn() {
    const text = await Deno.readTextFile(UNIT);
    const good = await verify(text);
    assert.equal(good.code, 0, good.output);
    assert.equal(good.output, "");
    // The check can fail: a misspelt option is reported.
    const bad = await verify(
      text.replace("ProtectSystem=strict", "ProtectSystem=maybe"),
    );
    assert.match(bad.output, /ProtectSystem|protect system/i);
  },
});
