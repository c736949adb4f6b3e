import assert from "node:assert/strict";
import {
  countOpenFds,
  parseProcLimits,
  planClients,
  readFdLimit,
} from "../lib/websocket/_fd_limit.ts";

const SAMPLE =
  `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max open files            1024                 524288               files     
Max locked memory         8388608              8388608              bytes     
`;

Deno.test("parseProcLimits() reads the Max open files line", () => {
  assert.deepEqual(parseProcLimits(SAMPLE), { soft: 1024, hard: 524288 });
  assert.deepEqual(
    parseProcLimits("Max open files  unlimited  unlimited  files\n"),
    { soft: Infinity, hard: Infinity },
  );
  assert.equal(parseProcLimits("Max cpu time unlimited unlimited"), undefined);
  assert.equal(parseProcLimits("Max open files  lots  more  files"), undefined);
});

Deno.test("planClients() keeps maxClients plus headroom under the limit", () => {
  assert.deepEqual(planClients(100_000, 10_000), { maxClients: 10_000 });
  assert.deepEqual(planClients(Infinity, 10_000), { maxClients: 10_000 });
  const tight = planClients(1024, 10_000);
  assert.equal(tight.maxClients, 768);
  assert.match(
    tight.warning ?? "",
    /open-file limit \(1024\).*768 clients, not 10000/,
  );
  assert.equal(
    planClients(1024, 10_000, { fdsPerClient: 3, headroom: 124 }).maxClients,
    300,
  );
  assert.equal(planClients(100, 50).maxClients, 1); // never 0
  assert.throws(() => planClients(1024, 1, { fdsPerClient: 0 }), RangeError);
});

const linux = Deno.build.os === "linux";

Deno.test({
  name: "readFdLimit() and countOpenFds() see the limit prlimit set",
  ignore: !linux,
  async fn() {
    const own = readFdLimit();
    assert.ok(own !== undefined && own.soft <= own.hard);
    // Counting needs --allow-all (Deno 2.9 guards /proc/self); the test
    // task grants permissions one by one, so it is undefined there.
    const before = countOpenFds();
    if (before !== undefined) {
      // Other work of the process may open or close a few meanwhile.
      const files = Array.from(
        { length: 40 },
        () => Deno.openSync("/dev/null"),
      );
      const opened = countOpenFds()! - before;
      for (const file of files) file.close();
      assert.ok(opened >= 35 && opened <= 45, `counted ${opened} of 40`);
    }
    // A child under a lower limit reads that limit (Deno raises soft to hard).
    const probe = await Deno.makeTempFile({ suffix: ".ts" });
    try {
      await Deno.writeTextFile(
        probe,
        `import { readFdLimit } from ${
          JSON.stringify(
            new URL("../lib/websocket/_fd_limit.ts", import.meta.url).href,
          )
        };
console.log(JSON.stringify(readFdLimit()));`,
      );
      let output: Deno.CommandOutput;
      try {
        output = await new Deno.Command("prlimit", {
          args: [
            "--nofile=200:300",
            Deno.execPath(),
            "run",
            "--allow-read", // the server's permissions: no --allow-all
            "--allow-ffi",
            probe,
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return; // no prlimit here
        throw error;
      }
      assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
      assert.deepEqual(JSON.parse(new TextDecoder().decode(output.stdout)), {
        soft: 300,
        hard: 300,
      });
    } finally {
      await Deno.remove(probe);
    }
  },
});
