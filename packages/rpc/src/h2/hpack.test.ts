/**
 * HPACK codec: the RFC 7541 Appendix C examples (hex dumps typed from the RFC), encoder round trips,
 * every class of malformed input, the header list limit, and a seeded fuzz loop.
 */
import { describe, expect, it } from "vitest";
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from "./huffman.js";
import { HeaderListTooLarge, HpackDecoder, HpackError, encodeHeaders, encodedLength } from "./hpack.js";

type Field = [string, string];

/** An RFC hex dump ("8286 8441 ...", any whitespace) as bytes. */
function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ""), "hex");
}

function decode(d: HpackDecoder, block: Uint8Array, maxListBytes = Number.MAX_SAFE_INTEGER): Field[] {
  const out: Field[] = [];
  d.decode(block, maxListBytes, (name, value) => out.push([name, value]));
  return out;
}

/** An HPACK integer (5.1) with an N-bit prefix, `flags` in the first octet. */
function int(v: number, prefixBits: number, flags = 0): number[] {
  const max = (1 << prefixBits) - 1;
  if (v < max) return [flags | v];
  const out = [flags | max];
  v -= max;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/**
 * The decoder's dynamic table, newest first, read through indexed representations (which never
 * change the table): index 62, 63, ... until one is beyond the table.
 */
function dynamicTable(d: HpackDecoder): Field[] {
  const entries: Field[] = [];
  for (let i = 62; ; i++) {
    try {
      entries.push(...decode(d, Uint8Array.from(int(i, 7, 0x80))));
    } catch (e: unknown) {
      expect(e).toBeInstanceOf(HpackError);
      return entries;
    }
  }
}

function tableSize(entries: readonly Field[]): number {
  return entries.reduce((n, [name, value]) => n + name.length + value.length + 32, 0);
}

function expectHpackError(d: HpackDecoder, block: Uint8Array, message?: RegExp): void {
  let thrown: unknown;
  try {
    decode(d, block);
  } catch (e: unknown) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(HpackError);
  expect(thrown).not.toBeInstanceOf(HeaderListTooLarge);
  if (message !== undefined) expect((thrown as Error).message).toMatch(message);
}

/** Huffman-encodes latin1 `s` with the code table (test helper: the encoder itself never uses Huffman). */
function huffman(s: string): number[] {
  const out: number[] = [];
  let acc = 0n;
  let bits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    acc = (acc << BigInt(HUFFMAN_LENGTHS[c]!)) | BigInt(HUFFMAN_CODES[c]!);
    bits += HUFFMAN_LENGTHS[c]!;
    while (bits >= 8) {
      bits -= 8;
      out.push(Number((acc >> BigInt(bits)) & 0xffn));
    }
    acc &= (1n << BigInt(bits)) - 1n;
  }
  if (bits > 0) out.push(Number((acc << BigInt(8 - bits)) | ((1n << BigInt(8 - bits)) - 1n)));
  return out;
}

/** A literal field without indexing, new name, each string either raw or Huffman-coded. */
function literal(name: string, value: string, huff: boolean): number[] {
  const str = (s: string): number[] => {
    const bytes = huff ? huffman(s) : [...Buffer.from(s, "latin1")];
    return [...int(bytes.length, 7, huff ? 0x80 : 0), ...bytes];
  };
  return [0x00, ...str(name), ...str(value)];
}

describe("RFC 7541 C.2 header field representations", () => {
  it("C.2.1 literal with indexing", () => {
    const d = new HpackDecoder();
    expect(decode(d, hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"))).toEqual([["custom-key", "custom-header"]]);
    const table = dynamicTable(d);
    expect(table).toEqual([["custom-key", "custom-header"]]);
    expect(tableSize(table)).toBe(55);
  });

  it("C.2.2 literal without indexing", () => {
    const d = new HpackDecoder();
    expect(decode(d, hex("040c 2f73 616d 706c 652f 7061 7468"))).toEqual([[":path", "/sample/path"]]);
    expect(dynamicTable(d)).toEqual([]);
  });

  it("C.2.3 literal never indexed", () => {
    const d = new HpackDecoder();
    expect(decode(d, hex("1008 7061 7373 776f 7264 0673 6563 7265 74"))).toEqual([["password", "secret"]]);
    expect(dynamicTable(d)).toEqual([]);
  });

  it("C.2.4 indexed", () => {
    const d = new HpackDecoder();
    expect(decode(d, hex("82"))).toEqual([[":method", "GET"]]);
    expect(dynamicTable(d)).toEqual([]);
  });
});

/** A series of blocks on one decoder: each block's fields, then the table (newest first) and its size. */
interface Step {
  readonly block: string;
  readonly fields: Field[];
  readonly table: Field[];
  readonly size: number;
}

function runSeries(tableBytes: number, steps: readonly Step[]): void {
  const d = new HpackDecoder(tableBytes);
  for (const step of steps) {
    expect(decode(d, hex(step.block))).toEqual(step.fields);
    const table = dynamicTable(d);
    expect(table).toEqual(step.table);
    expect(tableSize(table)).toBe(step.size);
  }
}

const REQUESTS: Field[][] = [
  [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
  ],
  [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
    ["cache-control", "no-cache"],
  ],
  [
    [":method", "GET"],
    [":scheme", "https"],
    [":path", "/index.html"],
    [":authority", "www.example.com"],
    ["custom-key", "custom-value"],
  ],
];
const REQUEST_TABLES: Field[][] = [
  [[":authority", "www.example.com"]],
  [
    ["cache-control", "no-cache"],
    [":authority", "www.example.com"],
  ],
  [
    ["custom-key", "custom-value"],
    ["cache-control", "no-cache"],
    [":authority", "www.example.com"],
  ],
];

const RESPONSES: Field[][] = [
  [
    [":status", "302"],
    ["cache-control", "private"],
    ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
    ["location", "https://www.example.com"],
  ],
  [
    [":status", "307"],
    ["cache-control", "private"],
    ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
    ["location", "https://www.example.com"],
  ],
  [
    [":status", "200"],
    ["cache-control", "private"],
    ["date", "Mon, 21 Oct 2013 20:13:22 GMT"],
    ["location", "https://www.example.com"],
    ["content-encoding", "gzip"],
    ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
  ],
];
const RESPONSE_TABLES: Field[][] = [
  [
    ["location", "https://www.example.com"],
    ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
    ["cache-control", "private"],
    [":status", "302"],
  ],
  [
    [":status", "307"],
    ["location", "https://www.example.com"],
    ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
    ["cache-control", "private"],
  ],
  [
    ["set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"],
    ["content-encoding", "gzip"],
    ["date", "Mon, 21 Oct 2013 20:13:22 GMT"],
  ],
];

describe("RFC 7541 C.3-C.6 header block series", () => {
  it("C.3 requests without Huffman", () => {
    runSeries(4096, [
      { block: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", fields: REQUESTS[0]!, table: REQUEST_TABLES[0]!, size: 57 },
      { block: "8286 84be 5808 6e6f 2d63 6163 6865", fields: REQUESTS[1]!, table: REQUEST_TABLES[1]!, size: 110 },
      {
        block: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        fields: REQUESTS[2]!,
        table: REQUEST_TABLES[2]!,
        size: 164,
      },
    ]);
  });

  it("C.4 requests with Huffman", () => {
    runSeries(4096, [
      { block: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", fields: REQUESTS[0]!, table: REQUEST_TABLES[0]!, size: 57 },
      { block: "8286 84be 5886 a8eb 1064 9cbf", fields: REQUESTS[1]!, table: REQUEST_TABLES[1]!, size: 110 },
      {
        block: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        fields: REQUESTS[2]!,
        table: REQUEST_TABLES[2]!,
        size: 164,
      },
    ]);
  });

  it("C.5 responses without Huffman, table size 256 (evictions)", () => {
    runSeries(256, [
      {
        block: `4803 3330 3258 0770 7269 7661 7465 611d
                4d6f 6e2c 2032 3120 4f63 7420 3230 3133
                2032 303a 3133 3a32 3120 474d 546e 1768
                7474 7073 3a2f 2f77 7777 2e65 7861 6d70
                6c65 2e63 6f6d`,
        fields: RESPONSES[0]!,
        table: RESPONSE_TABLES[0]!,
        size: 222,
      },
      { block: "4803 3330 37c1 c0bf", fields: RESPONSES[1]!, table: RESPONSE_TABLES[1]!, size: 222 },
      {
        block: `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420
                3230 3133 2032 303a 3133 3a32 3220 474d
                54c0 5a04 677a 6970 7738 666f 6f3d 4153
                444a 4b48 514b 425a 584f 5157 454f 5049
                5541 5851 5745 4f49 553b 206d 6178 2d61
                6765 3d33 3630 303b 2076 6572 7369 6f6e
                3d31`,
        fields: RESPONSES[2]!,
        table: RESPONSE_TABLES[2]!,
        size: 215,
      },
    ]);
  });

  it("C.6 responses with Huffman, table size 256 (evictions)", () => {
    runSeries(256, [
      {
        block: `4882 6402 5885 aec3 771a 4b61 96d0 7abe
                9410 54d4 44a8 2005 9504 0b81 66e0 82a6
                2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8
                e9ae 82ae 43d3`,
        fields: RESPONSES[0]!,
        table: RESPONSE_TABLES[0]!,
        size: 222,
      },
      { block: "4883 640e ffc1 c0bf", fields: RESPONSES[1]!, table: RESPONSE_TABLES[1]!, size: 222 },
      {
        block: `88c1 6196 d07a be94 1054 d444 a820 0595
                040b 8166 e084 a62d 1bff c05a 839b d9ab
                77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b
                3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
                9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
        fields: RESPONSES[2]!,
        table: RESPONSE_TABLES[2]!,
        size: 215,
      },
    ]);
  });
});

describe("Huffman decoding", () => {
  it("decodes every octet value (test encoder built from the same code table)", () => {
    const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    const d = new HpackDecoder();
    expect(decode(d, Uint8Array.from(literal("x-all", all, true)))).toEqual([["x-all", all]]);
    // Each symbol alone too: exercises every code's own padding.
    for (let c = 0; c < 256; c++) {
      const s = String.fromCharCode(c);
      expect(decode(d, Uint8Array.from(literal(s, s + s + s, true)))).toEqual([[s, s + s + s]]);
    }
  });

  it("decodes an empty Huffman string", () => {
    expect(decode(new HpackDecoder(), Uint8Array.from([0x00, 0x81, 0x1f, 0x80]))).toEqual([["a", ""]]);
  });

  it("accepts 'a' (00011) with padding 111", () => {
    expect(decode(new HpackDecoder(), Uint8Array.from([0x00, 0x01, 0x78, 0x81, 0x1f]))).toEqual([["x", "a"]]);
  });

  it("rejects the EOS symbol", () => {
    // 30 one-bits are EOS.
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x00, 0x01, 0x78, 0x84, 0xff, 0xff, 0xff, 0xff]), /Huffman/);
    // EOS after a symbol: 'a' (00011) then 30 ones, then padding.
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x00, 0x01, 0x78, 0x85, 0x1f, 0xff, 0xff, 0xff, 0xff]), /Huffman/);
  });

  it("rejects padding longer than 7 bits", () => {
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x00, 0x01, 0x78, 0x82, 0x1f, 0xff]), /Huffman/);
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x00, 0x01, 0x78, 0x81, 0xff]), /Huffman/);
  });

  it("rejects padding that is not all ones", () => {
    // 'a' then 110, then 'a' then 000.
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x00, 0x01, 0x78, 0x81, 0x1e]), /Huffman/);
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x00, 0x01, 0x78, 0x81, 0x18]), /Huffman/);
  });
});

describe("encoder", () => {
  const fields: Field[] = [
    [":status", "200"],
    ["content-type", "application/grpc"],
    ["grpc-encoding", "identity"],
    ["grpc-status", "13"],
    ["grpc-message", 'bad: 100% "quoted"\t\u0001\u007f caf\u00e9 \u00ff\u0000 %E2%9C%93'],
    ["x-request-id", "0f6d2c9e-8a1b-4c57-9f43-1e2d3c4b5a69"],
    ["trace-bin", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"],
    ["x-long", "v".repeat(300)],
    ["x-empty", ""],
    [":authority", ""],
    [":path", "/switchboard.posts.v1.Posts/Create"],
    ["accept-encoding", "gzip, deflate"],
    ["www-authenticate", 'Bearer realm="x"'],
  ];

  it("writes :status 200 as the indexed octet 0x88", () => {
    const out = Buffer.alloc(encodedLength([[":status", "200"]]));
    expect(encodeHeaders([[":status", "200"]], out, 0)).toBe(1);
    expect([...out]).toEqual([0x88]);
  });

  it("writes a static name with another value as a literal without indexing, indexed name", () => {
    const f: Field[] = [["content-type", "application/grpc"]];
    const out = Buffer.alloc(encodedLength(f));
    encodeHeaders(f, out, 0);
    // content-type is index 31: 4-bit prefix 15, then 16; then the raw string.
    expect([...out]).toEqual([0x0f, 0x10, 0x10, ...Buffer.from("application/grpc", "latin1")]);
  });

  it("round-trips through the decoder, at an offset, with encodedLength exact", () => {
    const len = encodedLength(fields);
    const out = Buffer.alloc(len + 10, 0xee);
    expect(encodeHeaders(fields, out, 7)).toBe(7 + len);
    expect(out.subarray(0, 7).every((b) => b === 0xee)).toBe(true);
    expect(out.subarray(7 + len).every((b) => b === 0xee)).toBe(true);
    const d = new HpackDecoder();
    expect(decode(d, out.subarray(7, 7 + len))).toEqual(fields);
    // Nothing was added to the peer's table.
    expect(dynamicTable(d)).toEqual([]);
  });

  it("encodedLength equals the bytes written for each field alone", () => {
    for (const f of fields) {
      const out = Buffer.alloc(encodedLength([f]));
      expect(encodeHeaders([f], out, 0)).toBe(out.length);
      expect(decode(new HpackDecoder(), out)).toEqual([f]);
    }
    expect(encodedLength([])).toBe(0);
  });
});

describe("decoder errors", () => {
  it("index 0", () => {
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x80]), /index 0/);
  });

  it("index beyond the table", () => {
    expectHpackError(new HpackDecoder(), Uint8Array.from([0xbe]), /beyond/);
    expectHpackError(new HpackDecoder(), Uint8Array.from(int(5000, 7, 0x80)), /beyond/);
    // Indexed name beyond the table (literal with indexing, name index 62).
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x7e, 0x01, 0x61]), /beyond/);
    // One entry in the table: 62 is fine, 63 is not.
    const d = new HpackDecoder();
    decode(d, hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"));
    expect(decode(d, Uint8Array.from([0xbe]))).toEqual([["custom-key", "custom-header"]]);
    expectHpackError(d, Uint8Array.from([0xbf]), /beyond/);
  });

  it("truncated strings and integers", () => {
    // Name of length 10 with 1 octet left.
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x40, 0x0a, 0x61]), /string longer/);
    // Value missing entirely, then value cut short.
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x04]), /truncated/);
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x04, 0x05, 0x61, 0x62]), /string longer/);
    // Huffman value cut short.
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x04, 0x85, 0x1f]), /string longer/);
    // Integer continuation missing.
    expectHpackError(new HpackDecoder(), Uint8Array.from([0xff]), /truncated integer/);
    expectHpackError(new HpackDecoder(), Uint8Array.from([0xff, 0x80]), /truncated integer/);
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x04, 0x7f, 0x81]), /truncated integer/);
  });

  it("integer overflow", () => {
    // 127 + 0x7f * 2^0 + ... + 0x0f * 2^28 > 2^31.
    expectHpackError(new HpackDecoder(), Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]), /overflow/);
    // 2^31 exactly (with the 7-bit prefix's 127).
    expectHpackError(new HpackDecoder(), Uint8Array.from(int(2 ** 31, 7, 0x80)), /overflow/);
    // Zero-valued continuation octets beyond what 31 bits need.
    expectHpackError(new HpackDecoder(), Uint8Array.from([0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), /overflow/);
    // A string length beyond 2^31.
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0x7f]), /overflow/);
    // Large but in range: just an index beyond the table.
    expectHpackError(new HpackDecoder(), Uint8Array.from(int(2 ** 31 - 1, 7, 0x80)), /beyond/);
  });

  it("table size update above the maximum", () => {
    expectHpackError(new HpackDecoder(), Uint8Array.from(int(4097, 5, 0x20)), /table size update/);
    expectHpackError(new HpackDecoder(256), Uint8Array.from(int(257, 5, 0x20)), /table size update/);
    expect(decode(new HpackDecoder(256), Uint8Array.from([...int(256, 5, 0x20), 0x82]))).toEqual([[":method", "GET"]]);
  });

  it("table size update after a header field", () => {
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x82, 0x20]), /after a header field/);
    expectHpackError(new HpackDecoder(), Uint8Array.from([0x3f, 0xe1, 0x1f, 0x82, 0x3f, 0xe1, 0x1f]), /after a header field/);
  });

  it("table size updates shrink (evicting) and grow back", () => {
    const d = new HpackDecoder();
    decode(d, Uint8Array.from([0x40, 0x01, 0x61, 0x01, 0x31, 0x40, 0x01, 0x62, 0x01, 0x32]));
    expect(dynamicTable(d)).toEqual([
      ["b", "2"],
      ["a", "1"],
    ]);
    // Several updates at the block start are allowed: 40 evicts ("a", "1"); 34 still holds ("b", "2").
    expect(decode(d, Uint8Array.from([...int(40, 5, 0x20), ...int(34, 5, 0x20)]))).toEqual([]);
    expect(dynamicTable(d)).toEqual([["b", "2"]]);
    decode(d, Uint8Array.from([0x20]));
    expect(dynamicTable(d)).toEqual([]);
    // The table is limited to 0 now: entries with indexing are dropped.
    decode(d, Uint8Array.from([0x40, 0x01, 0x63, 0x01, 0x33]));
    expect(dynamicTable(d)).toEqual([]);
    // Grow back to the advertised maximum.
    expect(decode(d, Uint8Array.from([...int(4096, 5, 0x20), 0x40, 0x01, 0x63, 0x01, 0x33]))).toEqual([["c", "3"]]);
    expect(dynamicTable(d)).toEqual([["c", "3"]]);
  });

  it("an entry larger than the table empties it", () => {
    const d = new HpackDecoder(100);
    decode(d, Uint8Array.from([0x40, 0x01, 0x61, 0x01, 0x31]));
    expect(dynamicTable(d)).toEqual([["a", "1"]]);
    const big = "z".repeat(80);
    expect(decode(d, Uint8Array.from([0x40, 0x01, 0x62, ...int(80, 7), ...Buffer.from(big)]))).toEqual([["b", big]]);
    expect(dynamicTable(d)).toEqual([]);
  });

  it("keeps many entries in order across ring growth and eviction", () => {
    const d = new HpackDecoder(4096);
    const added: Field[] = [];
    for (let i = 0; i < 300; i++) {
      const f: Field = [`k${i}`, `v${i}`.repeat(1 + (i % 7))];
      added.push(f);
      const nb = Buffer.from(f[0]);
      const vb = Buffer.from(f[1]);
      decode(d, Uint8Array.from([0x40, ...int(nb.length, 7), ...nb, ...int(vb.length, 7), ...vb]));
    }
    const table = dynamicTable(d);
    expect(tableSize(table)).toBeLessThanOrEqual(4096);
    expect(tableSize(table)).toBeGreaterThan(4096 - 64);
    expect(table).toEqual(added.slice(added.length - table.length).reverse());
  });
});

describe("header list limit", () => {
  it("throws HeaderListTooLarge after decoding the whole block, and keeps the table in step", () => {
    const d = new HpackDecoder();
    const big = "b".repeat(200);
    const block = Uint8Array.from([
      0x82, // :method GET (42 bytes in the list)
      0x40,
      0x05,
      ...Buffer.from("x-big"),
      ...int(big.length, 7),
      ...Buffer.from(big), // 237 bytes, indexed
      0x40,
      0x05,
      ...Buffer.from("x-two"),
      0x01,
      0x32, // after the limit, still added
    ]);
    const seen: Field[] = [];
    let thrown: unknown;
    try {
      d.decode(block, 100, (name, value) => seen.push([name, value]));
    } catch (e: unknown) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(HeaderListTooLarge);
    expect(thrown).toBeInstanceOf(HpackError);
    expect((thrown as HeaderListTooLarge).listBytes).toBe(42 + 5 + 200 + 32 + 5 + 1 + 32);
    // Fields within the limit were emitted; none after it.
    expect(seen).toEqual([[":method", "GET"]]);
    // The next block references both new entries.
    expect(decode(d, Uint8Array.from([0xbf, 0xbe]), 1000)).toEqual([
      ["x-big", big],
      ["x-two", "2"],
    ]);
  });

  it("a list of exactly maxListBytes is fine", () => {
    expect(decode(new HpackDecoder(), Uint8Array.from([0x82]), 42)).toEqual([[":method", "GET"]]);
    expect(() => decode(new HpackDecoder(), Uint8Array.from([0x82]), 41)).toThrow(HeaderListTooLarge);
  });
});

describe("fuzz", () => {
  /** mulberry32: a small seeded PRNG, so failures reproduce. */
  function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const seeds = [
    hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
    hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
    hex("4883 640e ffc1 c0bf"),
    hex("4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6"),
  ];

  it("20,000 random and mutated blocks only ever throw HpackError", () => {
    const rand = prng(0x5eed);
    let d = new HpackDecoder(256);
    let ok = 0;
    for (let i = 0; i < 20_000; i++) {
      let block: Uint8Array;
      if (i % 2 === 0) {
        block = new Uint8Array(Math.floor(rand() * 64));
        for (let j = 0; j < block.length; j++) block[j] = Math.floor(rand() * 256);
      } else {
        // A valid block with a few octets flipped, cut short or not: reaches deeper states.
        const seed = seeds[Math.floor(rand() * seeds.length)]!;
        block = Uint8Array.from(seed.subarray(0, 1 + Math.floor(rand() * seed.length)));
        const flips = 1 + Math.floor(rand() * 3);
        for (let f = 0; f < flips; f++) block[Math.floor(rand() * block.length)] = Math.floor(rand() * 256);
      }
      try {
        d.decode(block, 8192, () => {});
        ok++;
      } catch (e: unknown) {
        if (!(e instanceof HpackError)) throw new Error(`block ${Buffer.from(block).toString("hex")} threw ${String(e)}`);
        // A connection would be closed: start over, sometimes with another table size.
        d = new HpackDecoder(rand() < 0.5 ? 256 : 4096);
      }
    }
    // Not all rejected: the loop did reach the decoding paths.
    expect(ok).toBeGreaterThan(100);
  });
});
