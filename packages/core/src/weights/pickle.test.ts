import { describe, expect, it } from "vitest";
import { UnsafePickleError, WeightsFormatError } from "../errors.js";
import { PickleBuilder } from "./test-utils.js";
import { torchGlobals } from "./torch/allow-list.js";
import { type PyDict, PyGlobal, type PySet, refuseGlobal, unpickle } from "./torch/pickle.js";

const opts = {
  file: "t.pkl",
  where: "data.pkl",
  resolveGlobal: (m: string, n: string): PyGlobal => {
    throw refuseGlobal("t.pkl", "data.pkl", m, n);
  },
};
const run = (
  p: PickleBuilder,
  o: Partial<typeof opts> & { persistentLoad?: (pid: unknown) => unknown } = {},
) => unpickle(p.build(), { ...opts, ...o });
const pb = (proto = 2) => new PickleBuilder().proto(proto);
const fails = (p: PickleBuilder, problem: RegExp) => {
  expect(() => run(p)).toThrow(WeightsFormatError);
  expect(() => run(p)).toThrow(problem);
};

describe("unpickle (values)", () => {
  it("ints of every width, including LONG1 negatives and values past 2^53", () => {
    expect(run(pb().int(7).stop())).toBe(7);
    expect(run(pb().int(300).stop())).toBe(300);
    expect(run(pb().int(-5).stop())).toBe(-5);
    expect(
      run(
        pb()
          .int(2 ** 31 - 1)
          .stop(),
      ),
    ).toBe(2 ** 31 - 1);
    expect(run(pb().bytes(0x8a, 1, 0xff).stop())).toBe(-1); // LONG1 -1
    expect(run(pb().bytes(0x8a, 5, 0, 0, 0, 0, 1).stop())).toBe(2 ** 32); // LONG1 2^32
    expect(run(pb().bytes(0x8a, 0).stop())).toBe(0);
    expect(run(pb().bytes(0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x40).stop())).toBe(2n ** 62n);
    expect(run(pb().bytes(0x8b, 2, 0, 0, 0, 0x00, 0x80).stop())).toBe(-32768); // LONG4
    expect(run(pb(0).text("I42\n.").text(""))).toBe(42);
    expect(run(pb(0).text("I01\n."))).toBe(true);
    expect(run(pb(0).text("L-12345678901234567890L\n."))).toBe(-12345678901234567890n);
  });

  it("protocol 0 strings: STRING (a Python 2 str's repr) and UNICODE (raw-unicode-escape)", () => {
    // CPython: pickle.loads(b"S'it\\'s \\"x\\"\\n\\x41\\101\\q'\np0\n.") == 'it\'s "x"\nAA\\q'
    expect(run(pb(0).text(`S'it\\'s \\"x\\"\\n\\x41\\101\\q'\np0\n.`))).toBe('it\'s "x"\nAA\\q');
    expect(run(pb(0).text(`S"plain"\n.`))).toBe("plain");
    // CPython 3.11: pickle.dumps([{'sent': 'caf\xe9 \u2713 back\\slash', 'n': 3}], protocol=0)
    const bytes = Buffer.from(
      "(lp0\n(dp1\nVsent\np2\nVcaf\xe9 \\u2713 back\\u005cslash\np3\nsVn\np4\nI3\nsa.",
      "latin1",
    );
    const [d] = unpickle(bytes, opts) as PyDict[];
    expect([...d.items]).toEqual([
      ["sent", "café ✓ back\\slash"],
      ["n", 3],
    ]);
    fails(pb(0).text("Sunquoted\n."), /not a quoted string/);
    fails(pb(0).text("S'bad \\x4'\n."), /bad \\x escape/);
  });

  it("floats, strings, bytes, None and booleans", () => {
    const f = Buffer.alloc(8);
    f.writeDoubleBE(-1.5);
    expect(
      run(
        pb()
          .bytes(0x47, ...f)
          .stop(),
      ),
    ).toBe(-1.5);
    expect(run(pb(0).text("F0.25\n."))).toBe(0.25);
    expect(run(pb().str("héllo ✓").stop())).toBe("héllo ✓");
    expect(run(pb(4).shortStr("abc").stop())).toBe("abc");
    expect(run(pb(4).bytes(0x8d, 2, 0, 0, 0, 0, 0, 0, 0, 0x68, 0x69).stop())).toBe("hi"); // BINUNICODE8
    expect(run(pb().bytes(0x55, 2, 0xe9, 0x41).stop())).toBe("éA"); // SHORT_BINSTRING, latin-1
    expect(run(pb(3).bytes(0x43, 2, 1, 2).stop())).toEqual(Uint8Array.from([1, 2])); // SHORT_BINBYTES
    expect(run(pb(3).bytes(0x42, 1, 0, 0, 0, 9).stop())).toEqual(Uint8Array.from([9])); // BINBYTES
    expect(run(pb().bytes(0x4e).stop())).toBeNull();
    expect(run(pb().bytes(0x88).stop())).toBe(true);
    expect(run(pb().bytes(0x89).stop())).toBe(false);
  });

  it("tuples, lists, dicts, sets, memo (BINPUT/BINGET/LONG_BINPUT/MEMOIZE), DUP, POP, FRAME", () => {
    expect(run(pb().int(1).int(2).int(3).bytes(0x87).stop())).toEqual([1, 2, 3]);
    expect(run(pb().mark().int(1).int(2).bytes(0x6c).stop())).toEqual([1, 2]); // LIST
    expect(run(pb().bytes(0x5d).int(1).bytes(0x61).mark().int(2).int(3).bytes(0x65).stop())).toEqual([
      1, 2, 3,
    ]);
    const d = run(pb().mark().str("a").int(1).str("b").int(2).bytes(0x64).stop()) as PyDict; // DICT
    expect([...d.items]).toEqual([
      ["a", 1],
      ["b", 2],
    ]);
    const s = run(pb(4).bytes(0x8f).mark().int(1).int(2).bytes(0x90).stop()) as PySet;
    expect(s.items).toEqual([1, 2]);
    expect((run(pb(4).mark().int(5).bytes(0x91).stop()) as PySet).frozen).toBe(true);
    // [x, x] where x is memoized, fetched back and shared
    const shared = run(pb().bytes(0x5d, 0x71, 0, 0x68, 0, 0x86).stop()) as unknown[][];
    expect(shared[0]).toBe(shared[1]);
    expect(run(pb().str("x").bytes(0x72, 0, 1, 0, 0, 0x30, 0x6a, 0, 1, 0, 0).stop())).toBe("x"); // LONG_BINPUT, POP, LONG_BINGET
    expect(run(pb(4).bytes(0x95, 5, 0, 0, 0, 0, 0, 0, 0).str("y").bytes(0x94, 0x30, 0x68, 0).stop())).toBe(
      "y",
    ); // FRAME, MEMOIZE
    expect(run(pb().int(4).bytes(0x32, 0x86).stop())).toEqual([4, 4]); // DUP
    expect(run(pb().int(1).mark().int(2).int(3).bytes(0x31).stop())).toBe(1); // POP_MARK
  });

  it("calls only what the allow-list returns, with the arguments given", () => {
    const calls: unknown[][] = [];
    const resolveGlobal = (m: string, n: string) =>
      new PyGlobal(m, n, (args) => {
        calls.push(args);
        return `made by ${m}.${n}`;
      });
    expect(run(pb().global("ok", "fn").int(1).int(2).bytes(0x86).reduce().stop(), { resolveGlobal })).toBe(
      "made by ok.fn",
    );
    expect(run(pb().global("ok", "cls").emptyTuple().bytes(0x81).stop(), { resolveGlobal })).toBe(
      "made by ok.cls",
    ); // NEWOBJ
    expect(calls).toEqual([[1, 2], []]);
    const inert = () => new PyGlobal("ok", "marker");
    expect(() =>
      run(pb().global("ok", "marker").emptyTuple().reduce().stop(), { resolveGlobal: inert }),
    ).toThrow(/REDUCE on ok\.marker, which cannot be called/);
  });

  it("BUILD keeps a dict's state (a state_dict's _metadata) and refuses other targets", () => {
    const d = run(pb().emptyDict().emptyDict().str("k").int(1).setitem().bytes(0x62).stop()) as PyDict;
    expect(d.items.size).toBe(0);
    expect((d.state as PyDict).items.get("k")).toBe(1);
    fails(pb().int(1).emptyDict().bytes(0x62).stop(), /BUILD on number/);
  });

  it("persistent ids go to persistentLoad, and are refused without one", () => {
    expect(run(pb().str("pid").binpersid().stop(), { persistentLoad: (pid) => ({ loaded: pid }) })).toEqual({
      loaded: "pid",
    });
    fails(pb().str("pid").binpersid().stop(), /persistent ids are not allowed/);
  });
});

describe("unpickle (refusals and malformed input)", () => {
  it("refuses globals through the allow-list, naming the global, before anything else runs", () => {
    const g = pb().global("os", "system").bytes(0xff);
    expect(() => run(g)).toThrow(UnsafePickleError);
    expect(() => run(g)).toThrow(/t\.pkl: pickle data\.pkl asks for the global "os\.system"/);
    expect(() => run(pb(4).stackGlobal("builtins", "eval").stop())).toThrow(/"builtins\.eval"/);
    expect(() => run(pb(0).text("ios\nsystem\n(tR."))).toThrow(UnsafePickleError); // INST names a class too
  });

  it("the torch allow-list accepts exactly the state-dict globals", () => {
    const resolve = torchGlobals("f.pt", "archive/data.pkl");
    for (const [m, n] of [
      ["collections", "OrderedDict"],
      ["torch._utils", "_rebuild_tensor"],
      ["torch._utils", "_rebuild_tensor_v2"],
      ["torch._utils", "_rebuild_parameter"],
      ["torch._tensor", "_rebuild_from_type_v2"],
      ["torch", "FloatStorage"],
      ["torch", "BFloat16Storage"],
      ["torch", "BoolStorage"],
      ["torch", "float32"],
      ["torch.nn.parameter", "Parameter"],
    ])
      expect(resolve(m, n).qualifiedName).toBe(`${m}.${n}`);
    for (const [m, n] of [
      ["torch", "UntypedStorage"],
      ["torch._utils", "_rebuild_device_tensor_from_numpy"],
      ["torch", "load"],
      ["builtins", "set"],
      ["_codecs", "encode"],
      ["collections", "OrderedDict.fromkeys"],
      ["torch._utils\ncollections", "OrderedDict"],
      ["torch", "constructor"], // not fooled by Object.prototype
      ["torch", "__proto__"],
    ])
      expect(() => resolve(m, n)).toThrow(UnsafePickleError);
  });

  it.each([
    ["an unknown opcode", pb().bytes(0xff).stop(), /byte 2: unknown or unsupported opcode 0xff/],
    ["a protocol above 5", new PickleBuilder().proto(6).stop(), /unsupported pickle protocol 6/],
    ["no STOP", pb().int(1), /no STOP opcode/],
    [
      "a truncated argument",
      pb().bytes(0x58, 10, 0, 0, 0, 0x61),
      /truncated \(wanted 10 more bytes, 1 left\)/,
    ],
    ["stack underflow", pb().reduce().stop(), /stack underflow/],
    ["TUPLE without MARK", pb().int(1).tuple().stop(), /no MARK/],
    ["an unknown memo index", pb().bytes(0x68, 9).stop(), /memo entry 9 was never stored/],
    ["invalid UTF-8", pb().bytes(0x58, 1, 0, 0, 0, 0xff).stop(), /not valid UTF-8/],
    ["SETITEM on a list", pb().bytes(0x5d).int(1).int(2).setitem().stop(), /SETITEM\(S\) on tuple\/list/],
    ["EXT opcodes", pb().bytes(0x82, 1).stop(), /EXT opcodes/],
    ["out-of-band buffers", pb(5).bytes(0x97).stop(), /out-of-band buffers/],
    [
      "STACK_GLOBAL with non-strings",
      pb(4).int(1).int(2).bytes(0x93).stop(),
      /STACK_GLOBAL needs two strings/,
    ],
  ])("%s is a WeightsFormatError naming the file and position", (_, p, problem) => {
    fails(p, problem);
    expect(() => run(p)).toThrow(/^t\.pkl: pickle data\.pkl, byte \d+: /);
  });
});
