/**
 * The README and `docs/`: every TypeScript code block type-checks
 * (`deno check --doc-only`, which imports `@evrmore/rpc` from this package),
 * and every relative link leads to a file that exists (and, with a
 * `#fragment`, to a heading of that Markdown file).
 *
 * Needs `--allow-read --allow-run`.
 */

import assert from "node:assert/strict";

const ROOT = decodeURIComponent(new URL("..", import.meta.url).pathname);

/** README.md and every Markdown file under docs/, as paths from the root. */
function markdownFiles(): string[] {
  const files = ["README.md"];
  const walk = (dir: string) => {
    for (const entry of Deno.readDirSync(`${ROOT}${dir}`)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) walk(path);
      else if (entry.name.endsWith(".md")) files.push(path);
    }
  };
  walk("docs");
  return files.sort();
}

interface Block {
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  attributes: string;
}

/** The fenced code blocks of a Markdown text. */
function codeBlocks(file: string, text: string): Block[] {
  const blocks: Block[] = [];
  let open: Block | undefined;
  text.split("\n").forEach((line, index) => {
    const fence = /^(\s*)```(\S*)\s*(.*)$/.exec(line);
    if (!fence) return;
    if (open === undefined) {
      open = {
        file,
        line: index + 1,
        lang: fence[2]!.toLowerCase(),
        attributes: fence[3]!,
      };
    } else {
      blocks.push(open);
      open = undefined;
    }
  });
  assert.equal(open, undefined, `${file}: a code block is never closed`);
  return blocks;
}

const TS = new Set(["ts", "typescript", "tsx"]);

async function denoCheckDocOnly(
  files: string[],
  cwd: string,
): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--doc-only", ...files],
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code, output: decode(stdout) + decode(stderr) };
}

Deno.test("docs: every TypeScript block of README.md and docs/ type-checks", async () => {
  const files = markdownFiles();
  assert.ok(files.includes("docs/server.md") && files.length >= 8, `${files}`);
  const blocks: Block[] = [];
  for (const file of files) {
    blocks.push(
      ...codeBlocks(file, await Deno.readTextFile(`${ROOT}${file}`)),
    );
  }
  const typescript = blocks.filter((block) => TS.has(block.lang));
  assert.ok(typescript.length >= 10, `only ${typescript.length} blocks`);
  for (const block of typescript) {
    assert.ok(
      !/\bignore\b/.test(block.attributes),
      `${block.file}:${block.line} is ignored: make it type-check instead`,
    );
  }
  // Deno checks every ts/typescript block of the files (its type-check
  // cache prints nothing for unchanged ones); the next test shows a bad
  // block fails it.
  const { code, output } = await denoCheckDocOnly(files, ROOT);
  assert.equal(code, 0, output);
});

Deno.test("docs: deno check --doc-only fails on a block that does not type-check", async () => {
  const dir = await Deno.makeTempDir({ prefix: "evr-docs-" });
  try {
    await Deno.writeTextFile(
      `${dir}/bad.md`,
      '# Bad\n\n```ts\nconst height: number = "tall";\nconsole.log(height);\n```\n',
    );
    const { code, output } = await denoCheckDocOnly(["bad.md"], dir);
    assert.notEqual(code, 0);
    assert.match(output, /TS2322/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading.trim().toLowerCase()
    .replace(/[`*_]/g, (c) => (c === "_" ? "_" : ""))
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

/** The anchors of a Markdown file's headings (outside code blocks). */
function anchors(text: string): Set<string> {
  const out = new Set<string>();
  let inCode = false;
  for (const line of text.split("\n")) {
    if (/^\s*```/.test(line)) inCode = !inCode;
    if (inCode) continue;
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) out.add(slug(heading[1]!));
  }
  return out;
}

/** The link targets of a Markdown text, outside code blocks and code spans. */
function links(text: string): string[] {
  const out: string[] = [];
  let inCode = false;
  for (const line of text.split("\n")) {
    if (/^\s*```/.test(line)) {
      inCode = !inCode;
      continue;
    }
    if (inCode) continue;
    const prose = line.replace(/`[^`]*`/g, "");
    for (const match of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      out.push(match[1]!);
    }
  }
  return out;
}

Deno.test("docs: every relative link in README.md and docs/ resolves", async () => {
  const problems: string[] = [];
  let checked = 0;
  for (const file of markdownFiles()) {
    const base = new URL(file, `file://${ROOT}`);
    for (const target of links(await Deno.readTextFile(base))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      checked++;
      const [path = "", fragment] = target.split("#", 2);
      const url = path === "" ? base : new URL(path, base);
      let text: string | undefined;
      try {
        const info = await Deno.stat(url);
        if (info.isFile && url.pathname.endsWith(".md")) {
          text = await Deno.readTextFile(url);
        }
      } catch {
        problems.push(`${file}: ${target}: no such file`);
        continue;
      }
      if (fragment !== undefined && text !== undefined) {
        if (!anchors(text).has(fragment)) {
          problems.push(`${file}: ${target}: no such heading`);
        }
      }
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(checked >= 15, `only ${checked} relative links`);
});

Deno.test("docs: the link checker's slugs and link finder", () => {
  assert.equal(slug("Resuming: since cursors"), "resuming-since-cursors");
  assert.equal(slug("Server → client events"), "server--client-events");
  assert.equal(slug("`expire_time` on issue"), "expire_time-on-issue");
  assert.deepEqual(
    links("[a](x.md) `[b](y.md)` [c](https://e.example)\n```\n[d](z.md)\n```"),
    ["x.md", "https://e.example"],
  );
});
