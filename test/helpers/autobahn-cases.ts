/**
 * The parameters of Autobahn TestSuite cases that are generated rather than written out, exactly
 * as the suite generates them (autobahntestsuite/case/case6_x_x.py, case9_*.py), shared by the
 * server-side wire suite (test/conformance/wire) and the client-side fuzzing server
 * (autobahn-fuzzingserver.ts), so both number and size them the way Autobahn's reports do.
 */
import { isUtf8 } from "node:buffer";
import { type BuildOptions, frame, OP } from "./frames.js";

/**
 * A message framed the way Autobahn's `sendMessage(payload, fragmentSize=size)` frames it: frames
 * of `size` octets, FIN on the frame that steps past the end. When the length is a multiple of
 * `size` that last frame is empty: 4 MiB in 64-octet fragments (cases 9.3.1/9.4.1) is 65,536
 * frames of 64 octets and one empty final frame, 65,537 in all. A payload of at most `size`
 * octets is one frame. (autobahn/websocket/protocol.py, WebSocketProtocol.sendMessage.)
 */
export function autobahnFragments(
  opcode: number,
  payload: Uint8Array | string,
  size: number,
  options: { mask?: BuildOptions["mask"] } = {},
): Buffer[] {
  const data = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const mask = options.mask ?? false;
  if (data.length <= size) return [frame(opcode, data, { mask })];
  const frames: Buffer[] = [];
  for (let i = 0, done = false; !done; i += size) {
    let j = i + size;
    if (j > data.length) {
      done = true;
      j = data.length;
    }
    frames.push(frame(i === 0 ? opcode : OP.CONT, data.subarray(i, j), { fin: done, mask }));
  }
  return frames;
}

export interface Utf8Vector {
  /** "6.5.1" ... "6.23.7" */
  id: string;
  /** The subcategory's title in Autobahn's report. */
  group: string;
  payload: Buffer;
  valid: boolean;
}

const bytes = (...b: number[]) => Buffer.from(b);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * Cases 6.5.x-6.23.x: one text message each (one frame), valid ones echoed, invalid ones failed
 * with 1007. Groups in Autobahn's order (Markus Kuhn's UTF-8 decoder test plus specials): group k
 * is section 6.(k+5), entry j is case 6.(k+5).(j+1).
 */
export function utf8Vectors(): Utf8Vector[] {
  const kosme = bytes(0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5);
  const hello = (...mid: number[]) => Buffer.concat([Buffer.from("hello"), bytes(...mid), Buffer.from("world")]);
  const missingLast = [
    [0xc0],
    [0xe0, 0x80],
    [0xf0, 0x80, 0x80],
    [0xf8, 0x80, 0x80, 0x80],
    [0xfc, 0x80, 0x80, 0x80, 0x80],
    [0xdf],
    [0xef, 0xbf],
    [0xf7, 0xbf, 0xbf],
    [0xfb, 0xbf, 0xbf, 0xbf],
    [0xfd, 0xbf, 0xbf, 0xbf, 0xbf],
  ];
  const nonCharacters: number[][] = [
    [0xef, 0xbf, 0xbe],
    [0xef, 0xbf, 0xbf],
  ];
  for (const z1 of [0xf0, 0xf1, 0xf2, 0xf3, 0xf4]) {
    for (const z2 of [0x8f, 0x9f, 0xaf, 0xbf]) {
      if (z1 === 0xf4 && z2 !== 0x8f) continue; // beyond U+10FFFF
      for (const z3 of [0xbe, 0xbf]) {
        if (z1 === 0xf0 && z2 === 0x8f) continue; // overlong
        nonCharacters.push([z1, z2, 0xbf, z3]);
      }
    }
  }
  const groups: Array<[string, Array<[boolean, Buffer]>]> = [
    [
      "Some valid UTF-8 sequences",
      [
        [true, hello(0x24)],
        [true, hello(0xc2, 0xa2)],
        [true, hello(0xe2, 0x82, 0xac)],
        [true, hello(0xf0, 0xa4, 0xad, 0xa2)],
        [true, kosme],
      ],
    ],
    [
      "All prefixes of a valid UTF-8 string that contains multi-byte code points",
      range(1, kosme.length + 1).map((n) => [isUtf8(kosme.subarray(0, n)), kosme.subarray(0, n)]),
    ],
    [
      "First possible sequence of a certain length",
      [
        [true, bytes(0x00)],
        [true, bytes(0xc2, 0x80)],
        [true, bytes(0xe0, 0xa0, 0x80)],
        [true, bytes(0xf0, 0x90, 0x80, 0x80)],
      ],
    ],
    [
      "First possible sequence length 5/6 (invalid codepoints)",
      [
        [false, bytes(0xf8, 0x88, 0x80, 0x80, 0x80)],
        [false, bytes(0xfc, 0x84, 0x80, 0x80, 0x80, 0x80)],
      ],
    ],
    [
      "Last possible sequence of a certain length",
      [
        [true, bytes(0x7f)],
        [true, bytes(0xdf, 0xbf)],
        [true, bytes(0xef, 0xbf, 0xbf)],
        [true, bytes(0xf4, 0x8f, 0xbf, 0xbf)],
      ],
    ],
    [
      "Last possible sequence length 4/5/6 (invalid codepoints)",
      [
        [false, bytes(0xf7, 0xbf, 0xbf, 0xbf)],
        [false, bytes(0xfb, 0xbf, 0xbf, 0xbf, 0xbf)],
        [false, bytes(0xfd, 0xbf, 0xbf, 0xbf, 0xbf, 0xbf)],
      ],
    ],
    [
      "Other boundary conditions",
      [
        [true, bytes(0xed, 0x9f, 0xbf)],
        [true, bytes(0xee, 0x80, 0x80)],
        [true, bytes(0xef, 0xbf, 0xbd)],
        [true, bytes(0xf4, 0x8f, 0xbf, 0xbf)],
        [false, bytes(0xf4, 0x90, 0x80, 0x80)],
      ],
    ],
    [
      "Unexpected continuation bytes",
      [
        [false, bytes(0x80)],
        [false, bytes(0xbf)],
        [false, bytes(0x80, 0xbf)],
        [false, bytes(0x80, 0xbf, 0x80)],
        [false, bytes(0x80, 0xbf, 0x80, 0xbf)],
        [false, bytes(0x80, 0xbf, 0x80, 0xbf, 0x80)],
        [false, bytes(0x80, 0xbf, 0x80, 0xbf, 0x80, 0xbf)],
        [false, bytes(...range(0x80, 0xbf))], // Python's xrange(0x80, 0xbf): 63 octets
      ],
    ],
    [
      "Lonely start characters",
      [
        [0xc0, 0xdf],
        [0xe0, 0xef],
        [0xf0, 0xf7],
        [0xf8, 0xfb],
        [0xfc, 0xfd],
      ].map(([from, to]) => [false, bytes(...range(from!, to!).flatMap((b) => [b, 0x20]))]),
    ],
    ["Sequences with last continuation byte missing", missingLast.map((k) => [false, bytes(...k)])],
    ["Concatenation of incomplete sequences", [[false, bytes(...missingLast.flat())]]],
    [
      "Impossible bytes",
      [
        [false, bytes(0xfe)],
        [false, bytes(0xff)],
        [false, bytes(0xfe, 0xfe, 0xff, 0xff)],
      ],
    ],
    [
      "Examples of an overlong ASCII character",
      [
        [false, bytes(0xc0, 0xaf)],
        [false, bytes(0xe0, 0x80, 0xaf)],
        [false, bytes(0xf0, 0x80, 0x80, 0xaf)],
        [false, bytes(0xf8, 0x80, 0x80, 0x80, 0xaf)],
        [false, bytes(0xfc, 0x80, 0x80, 0x80, 0x80, 0xaf)],
      ],
    ],
    [
      "Maximum overlong sequences",
      [
        [false, bytes(0xc1, 0xbf)],
        [false, bytes(0xe0, 0x9f, 0xbf)],
        [false, bytes(0xf0, 0x8f, 0xbf, 0xbf)],
        [false, bytes(0xf8, 0x87, 0xbf, 0xbf, 0xbf)],
        [false, bytes(0xfc, 0x83, 0xbf, 0xbf, 0xbf, 0xbf)],
      ],
    ],
    [
      "Overlong representation of the NUL character",
      [
        [false, bytes(0xc0, 0x80)],
        [false, bytes(0xe0, 0x80, 0x80)],
        [false, bytes(0xf0, 0x80, 0x80, 0x80)],
        [false, bytes(0xf8, 0x80, 0x80, 0x80, 0x80)],
        [false, bytes(0xfc, 0x80, 0x80, 0x80, 0x80, 0x80)],
      ],
    ],
    [
      "Single UTF-16 surrogates",
      [
        [0xa0, 0x80],
        [0xad, 0xbf],
        [0xae, 0x80],
        [0xaf, 0xbf],
        [0xb0, 0x80],
        [0xbe, 0x80],
        [0xbf, 0xbf],
      ].map(([a, b]) => [false, bytes(0xed, a!, b!)]),
    ],
    [
      "Paired UTF-16 surrogates",
      [
        [0xa0, 0x80, 0xb0, 0x80],
        [0xa0, 0x80, 0xbf, 0xbf],
        [0xad, 0xbf, 0xb0, 0x80],
        [0xad, 0xbf, 0xbf, 0xbf],
        [0xae, 0x80, 0xb0, 0x80],
        [0xae, 0x80, 0xbf, 0xbf],
        [0xaf, 0xbf, 0xb0, 0x80],
        [0xaf, 0xbf, 0xbf, 0xbf],
      ].map(([a, b, c, d]) => [false, bytes(0xed, a!, b!, 0xed, c!, d!)]),
    ],
    ["Non-character code points (valid UTF-8)", nonCharacters.map((n) => [true, bytes(...n)])],
    [
      "Unicode specials (i.e. replacement char)",
      [0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf].map((b) => [true, bytes(0xef, 0xbf, b)]),
    ],
  ];
  return groups.flatMap(([group, entries], k) =>
    entries.map(([valid, payload], j) => ({ id: `6.${k + 5}.${j + 1}`, group, payload, valid })),
  );
}

const KiB = 1024;
const MiB = 1024 * KiB;

export interface LimitCase {
  id: string;
  description: string;
  binary: boolean;
  payload: () => Buffer;
  /** Sent by Autobahn's sendMessage in fragments of this size (see autobahnFragments). */
  fragmentSize?: number;
  /** One frame, written in chops of this many octets. */
  chop?: number;
}

/** Autobahn's sendFrame(payload=pattern, payload_len=n): `pattern` repeated to `n` octets. */
export function repeatTo(pattern: Buffer | string, n: number): Buffer {
  const p = typeof pattern === "string" ? Buffer.from(pattern, "latin1") : pattern;
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += p.length) p.copy(out, i, 0, Math.min(p.length, n - i));
  return out;
}

const TEXT_PATTERN = "BAsd7&jh23";
const BINARY_PATTERN = bytes(0x00, 0xfe, 0x23, 0xfa, 0xf0);
const sizeName = (n: number) => (n >= MiB ? `${n / MiB} MiB` : n >= KiB ? `${n / KiB} KiB` : `${n} B`);

/**
 * Cases 9.1-9.6 at the suite's sizes: 9.1/9.2 one frame of 64 KiB-16 MiB; 9.3/9.4 4 MiB through
 * sendMessage in 64 B-4 MiB fragments (9.3.1/9.4.1: 65,537 frames); 9.5/9.6 1 MiB in one frame
 * written in 64-2048 octet chops. Payloads are built when a case runs.
 */
export function limitCases(): LimitCase[] {
  const out: LimitCase[] = [];
  [64 * KiB, 256 * KiB, MiB, 4 * MiB, 8 * MiB, 16 * MiB].forEach((n, i) => {
    out.push({
      id: `9.1.${i + 1}`,
      description: `text message of ${sizeName(n)}`,
      binary: false,
      payload: () => repeatTo(TEXT_PATTERN, n),
    });
  });
  [64 * KiB, 256 * KiB, MiB, 4 * MiB, 8 * MiB, 16 * MiB].forEach((n, i) => {
    out.push({
      id: `9.2.${i + 1}`,
      description: `binary message of ${sizeName(n)}`,
      binary: true,
      payload: () => repeatTo(BINARY_PATTERN, n),
    });
  });
  const fragmentSizes = [64, 256, KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, MiB, 4 * MiB];
  for (const binary of [false, true]) {
    fragmentSizes.forEach((size, i) => {
      const frames = 4 * MiB <= size ? 1 : (4 * MiB) / size + 1;
      out.push({
        id: `9.${binary ? 4 : 3}.${i + 1}`,
        description: `4 MiB ${binary ? "binary" : "text"} in ${sizeName(size)} fragments (${frames} frames)`,
        binary,
        payload: () => Buffer.alloc(4 * MiB, binary ? 0xfe : 0x2a),
        fragmentSize: size,
      });
    });
  }
  for (const binary of [false, true]) {
    [64, 128, 256, 512, 1024, 2048].forEach((chop, i) => {
      out.push({
        id: `9.${binary ? 6 : 5}.${i + 1}`,
        description: `1 MiB ${binary ? "binary" : "text"} in one frame, written in ${chop}-octet chops`,
        binary,
        payload: () => repeatTo(binary ? BINARY_PATTERN : TEXT_PATTERN, MiB),
        chop,
      });
    });
  }
  return out;
}

/** Cases 9.7.x (text) and 9.8.x (binary): 1000 messages of `size` octets, one round trip each. */
export function roundTripCases(): Array<{ id: string; binary: boolean; size: number; count: number }> {
  return [false, true].flatMap((binary) =>
    [0, 16, 64, 256, 1024, 4096].map((size, i) => ({ id: `9.${binary ? 8 : 7}.${i + 1}`, binary, size, count: 1000 })),
  );
}
