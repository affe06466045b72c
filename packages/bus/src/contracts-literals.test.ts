/**
 * Subjects, streams and buckets are named in the contracts module (src/contracts/) and nowhere
 * else: this test reads every source file of every workspace (src/ and test/) and scripts/,
 * and fails with file:line for each string literal that spells one out.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { kvBuckets, streams, subjectRoots } from "./contracts/index.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const CONTRACTS = join(ROOT, "packages/bus/src/contracts");
/** This file spells names out on purpose, to test the checks. */
const SELF = fileURLToPath(import.meta.url);
const SOURCE = /\.(ts|mts|cts|js|mjs|cjs)$/;

interface Literal {
  readonly text: string;
  readonly line: number;
  /** The source just before the opening quote (same line), to see what the literal is given to. */
  readonly before: string;
}

const REGEX_BEFORE = new Set(["(", ",", "=", ":", "[", "!", "&", "|", "?", "{", "}", ";", "+", "-", "*", "%", "<", ">", "~", "^"]);
const REGEX_AFTER_WORD = new Set(["return", "typeof", "case", "do", "else", "in", "of", "void", "yield", "await", "throw", "delete", "new"]);

/**
 * The string literals of a JavaScript or TypeScript source: quoted strings and the text parts
 * of template literals (nested templates included), without comments or regular expressions.
 */
export function stringLiterals(src: string): Literal[] {
  const out: Literal[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  /** Brace depth at which each open template's `${` expression started. */
  const templates: number[] = [];
  let depth = 0;
  let lastSignificant = "";
  let lastWord = "";

  const newline = (at: number): void => {
    line++;
    lineStart = at + 1;
  };
  const quoted = (q: string): void => {
    const startLine = line;
    const before = src.slice(lineStart, i);
    let text = "";
    i++;
    while (i < src.length && src[i] !== q) {
      if (src[i] === "\\") {
        if (src[i + 1] === "\n") newline(i + 1);
        text += src[i + 1] ?? "";
        i += 2;
        continue;
      }
      if (src[i] === "\n") break; // unterminated: stop at the line's end
      text += src[i];
      i++;
    }
    i++;
    out.push({ text, line: startLine, before });
  };
  /** Reads template text from i (just after ` or }) up to its end or the next `${`. */
  const templateText = (): void => {
    const startLine = line;
    const before = src.slice(lineStart, i);
    let text = "";
    while (i < src.length) {
      const c = src[i]!;
      if (c === "\\") {
        text += src[i + 1] ?? "";
        i += 2;
        continue;
      }
      if (c === "`") {
        i++;
        out.push({ text, line: startLine, before });
        return;
      }
      if (c === "$" && src[i + 1] === "{") {
        i += 2;
        out.push({ text, line: startLine, before });
        templates.push(depth);
        depth++;
        return;
      }
      if (c === "\n") newline(i);
      text += c;
      i++;
    }
    out.push({ text, line: startLine, before });
  };

  while (i < src.length) {
    const c = src[i]!;
    if (c === "\n") {
      newline(i);
      i++;
      continue;
    }
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && src[i + 1] === "*") {
      i += 2;
      while (i < src.length && !(src[i] === "*" && src[i + 1] === "/")) {
        if (src[i] === "\n") newline(i);
        i++;
      }
      i += 2;
      continue;
    }
    if (c === "/" && (lastSignificant === "" || REGEX_BEFORE.has(lastSignificant) || REGEX_AFTER_WORD.has(lastWord))) {
      // A regular expression: skip it, classes and escapes included.
      i++;
      let inClass = false;
      while (i < src.length && src[i] !== "\n") {
        const r = src[i]!;
        if (r === "\\") i++;
        else if (r === "[") inClass = true;
        else if (r === "]") inClass = false;
        else if (r === "/" && !inClass) break;
        i++;
      }
      i++;
      while (i < src.length && /[a-z]/.test(src[i]!)) i++;
      lastSignificant = "x";
      lastWord = "";
      continue;
    }
    if (c === '"' || c === "'") {
      quoted(c);
      lastSignificant = "x";
      lastWord = "";
      continue;
    }
    if (c === "`") {
      i++;
      templateText();
      lastSignificant = "x";
      lastWord = "";
      continue;
    }
    if (c === "{") depth++;
    if (c === "}") {
      depth--;
      if (templates.length > 0 && templates[templates.length - 1] === depth) {
        templates.pop();
        i++;
        templateText();
        lastSignificant = "x";
        lastWord = "";
        continue;
      }
    }
    if (/[A-Za-z0-9_$]/.test(c)) {
      let j = i;
      while (j < src.length && /[A-Za-z0-9_$]/.test(src[j]!)) j++;
      lastWord = src.slice(i, j);
      lastSignificant = "x";
      i = j;
      continue;
    }
    lastSignificant = c === ")" || c === "]" ? "x" : c;
    lastWord = "";
    i++;
  }
  return out;
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const token = (name: string): RegExp => new RegExp(`(?<![A-Za-z0-9_.])${escape(name)}(?![A-Za-z0-9_])`);

const STREAM_NAMES = Object.values(streams).map((s) => s.name);
const BUCKET_NAMES = Object.values(kvBuckets).map((b) => b.name);
const streamName = STREAM_NAMES.map(token);
/** A subject of ours: one of the contracts' roots, or any other `sb.<token>` that is not a protobuf/gRPC name (`sb.<pkg>.v1.`). */
const subjectRoot = new RegExp(`(?<![A-Za-z0-9_.])(${Object.values(subjectRoots).map(escape).join("|")})(\\.|(?![A-Za-z0-9_]))`);
const sbSubject = /(?<![A-Za-z0-9_.])sb\.[a-z0-9_]+(?!\.v\d+(\.|\/|$))(\.|$)/;
/** The literal is handed to a stream, bucket or consumer by name. */
const namedAs = /(\bstream|\bbucket|_KV_BUCKET|\bdurable_name|\bdurable|\bconsumer)\s*[:=]\s*$/;

/** Why this literal names a subject, stream or bucket, or undefined. */
export function offence(l: Literal): string | undefined {
  if (streamName.some((r) => r.test(l.text))) return "stream name";
  if ((BUCKET_NAMES as readonly string[]).includes(l.text)) return "bucket name";
  if (subjectRoot.test(l.text) || sbSubject.test(l.text)) return "subject";
  if (namedAs.test(l.before) && l.text !== "") return `${namedAs.exec(l.before)![1]!.replace(/^_/, "")} name`;
  return undefined;
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name === "node_modules" || e.name === "dist" || p === CONTRACTS) continue;
      sourceFiles(p, out);
    } else if (SOURCE.test(e.name) && !e.name.endsWith(".d.ts") && p !== SELF) {
      out.push(p);
    }
  }
  return out;
}

function treeFiles(): string[] {
  const workspaces = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { workspaces: string[] }).workspaces;
  const files = workspaces.flatMap((w) => [...sourceFiles(join(ROOT, w, "src")), ...sourceFiles(join(ROOT, w, "test"))]);
  return [...files, ...sourceFiles(join(ROOT, "scripts"))];
}

describe("contract names are written only in the contracts module", () => {
  it("finds string literals, and only them", () => {
    const src = [
      'const a = "SB_EVT"; // "SB_CTL" in a comment',
      "/* `sb.evt.all` */ const b = `sb.ctl.${x}.y`;",
      "const c = /sb\\.evt\\./.test(s) ? 'one' : `t${`in${'ner'}`}`;",
      "const d = x / 2 / y; const e = 'after division';",
    ].join("\n");
    const found = stringLiterals(src).map((l) => `${String(l.line)}:${l.text}`);
    expect(found).toEqual(["1:SB_EVT", "2:sb.ctl.", "2:.y", "3:one", "3:t", "3:in", "3:ner", "3:", "3:", "4:after division"]);
  });

  it("tells contract names from other strings", () => {
    const lit = (text: string, before = "") => offence({ text, line: 1, before });
    expect(lit(streams.events.name)).toBe("stream name");
    expect(lit(`replicas of ${streams.control.name}`)).toBe("stream name");
    expect(lit(kvBuckets.presence.name)).toBe("bucket name");
    expect(lit(`${subjectRoots.events}.channel.`)).toBe("subject");
    expect(lit("sb.silent.x")).toBe("subject");
    expect(lit(`${subjectRoots.bench}.raw`)).toBe("subject");
    expect(lit("presence_test", "  await openKv(bus, { bucket: ")).toBe("bucket name");
    expect(lit("MY_STREAM", "readStreamRange(bus, { stream: ")).toBe("stream name");
    expect(lit("x_test", "SB_PRESENCE_KV_BUCKET: ")).toBe("KV_BUCKET name");
    // Not contract names: environment variables, metrics, gRPC names, prose.
    for (const ok of [
      "SB_EVT_X",
      "SB_POSTS_EVENT_STORAGE",
      "sb_presence_status_changes_total",
      "sb.posts.v1.PostsService/CreatePost",
      "sb.presence.v1.PresenceService",
      "a sb_presence bucket",
    ]) {
      expect(lit(ok), ok).toBeUndefined();
    }
  });

  it("no source file outside the contracts module spells out a subject, stream or bucket name", () => {
    const files = treeFiles();
    // The scan reached the whole tree (a wrong root would find nothing and pass).
    expect(files.length).toBeGreaterThan(200);
    expect(files.some((f) => f.endsWith("gateway/src/routing/channel-backfill.ts"))).toBe(true);
    expect(files.some((f) => f.startsWith(join(ROOT, "scripts")))).toBe(true);
    const offenders: string[] = [];
    for (const f of files) {
      for (const l of stringLiterals(readFileSync(f, "utf8"))) {
        const why = offence(l);
        if (why) offenders.push(`${relative(ROOT, f)}:${String(l.line)}: ${why} ${JSON.stringify(l.text)} (import it from @switchboard/bus)`);
      }
    }
    expect(offenders, offenders.join("\n")).toEqual([]);
  });
});
