import { UnsafePickleError, WeightsFormatError } from "../../errors.js";

/**
 * A small pickle *interpreter* (never an evaluator): it understands the opcodes `torch.save` emits (protocols
 * 2..5) and builds plain JS values. Globals are resolved through a caller-supplied allow-list at the moment
 * the GLOBAL / STACK_GLOBAL opcode is read, so a refused global throws before anything could use it, and the
 * only "calls" that ever happen are the JS functions that allow-list hands back.
 *
 * Python values map to: None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float -> number,
 * str -> string, bytes -> Uint8Array, tuple/list -> array, dict -> PyDict, set -> PySet, global -> PyGlobal.
 */

/** A dict (or OrderedDict). `state` holds what a BUILD opcode set on it (e.g. a state dict's `_metadata`). */
export class PyDict {
  readonly items = new Map<unknown, unknown>();
  state: unknown = undefined;
  constructor(readonly className = "dict") {}
}

export class PySet {
  readonly items: unknown[] = [];
  constructor(readonly frozen = false) {}
}

/** A global the allow-list accepted. Only globals with `call` may be invoked by REDUCE / NEWOBJ. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly call?: (args: unknown[]) => unknown,
    /** Free-form data for the allow-list's own use (e.g. the dtype of a storage type). */
    readonly data?: unknown,
  ) {}
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

export interface UnpickleOptions {
  /** The file the pickle came from, for error messages. */
  file: string;
  /** Where inside the file (e.g. the zip entry name), for error messages. */
  where: string;
  /** Returns the value of an allowed global, or throws UnsafePickleError. */
  resolveGlobal(module: string, name: string): PyGlobal;
  /** Resolves a persistent id (BINPERSID). Without it, persistent ids are refused. */
  persistentLoad?(pid: unknown): unknown;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Interprets a pickle and returns the value STOP leaves on the stack. */
export function unpickle(bytes: Uint8Array, opts: UnpickleOptions): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let opPos = 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (problem: string): never => {
    throw new WeightsFormatError(opts.file, `pickle ${opts.where}, byte ${opPos}: ${problem}`);
  };
  const need = (n: number): number => {
    if (n < 0 || pos + n > bytes.length)
      fail(`truncated (wanted ${n} more bytes, ${bytes.length - pos} left)`);
    const at = pos;
    pos += n;
    return at;
  };
  const u8 = () => bytes[need(1)];
  const u16 = () => view.getUint16(need(2), true);
  const u32 = () => view.getUint32(need(4), true);
  const i32 = () => view.getInt32(need(4), true);
  const u64 = (): number => {
    const v = view.getBigUint64(need(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is too large`);
    return Number(v);
  };
  const raw = (n: number) => bytes.subarray(need(n), pos);
  const utf8 = (n: number): string => {
    const b = raw(n);
    try {
      return decoder.decode(b);
    } catch {
      return fail("string is not valid UTF-8");
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail("truncated (unterminated text argument)");
    const s = new TextDecoder("latin1").decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail("stack underflow");
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail("stack underflow");
    return stack[stack.length - 1];
  };
  /** Pops everything above the last MARK (the "items" of TUPLE, APPENDS, SETITEMS, ...). */
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) fail("no MARK before an opcode that needs one");
    stack = prev!;
    return items;
  };
  // Not `stack.push(popMark())`: that would evaluate `stack` before popMark swaps it back.
  const pushItems = (items: unknown[]) => stack.push(items);
  const memoGet = (i: number): unknown => {
    if (!memo.has(i)) fail(`memo entry ${i} was never stored`);
    return memo.get(i);
  };
  const global = (module: string, name: string): PyGlobal => opts.resolveGlobal(module, name);
  const callable = (what: string, fn: unknown): ((args: unknown[]) => unknown) => {
    if (!(fn instanceof PyGlobal) || !fn.call)
      return fail(`${what} on ${describe(fn)}, which cannot be called`);
    return fn.call;
  };
  const asArgs = (what: string, args: unknown): unknown[] => {
    if (!Array.isArray(args)) return fail(`${what} arguments must be a tuple, got ${describe(args)}`);
    return args;
  };
  const setItems = (dict: unknown, kv: unknown[]) => {
    if (!(dict instanceof PyDict)) fail(`SETITEM(S) on ${describe(dict)}`);
    if (kv.length % 2) fail("SETITEMS with an odd number of items");
    for (let i = 0; i < kv.length; i += 2) (dict as PyDict).items.set(kv[i], kv[i + 1]);
  };
  const appendItems = (list: unknown, items: unknown[]) => {
    if (!Array.isArray(list)) fail(`APPEND(S) on ${describe(list)}`);
    for (const x of items) (list as unknown[]).push(x);
  };
  const addItems = (set: unknown, items: unknown[]) => {
    if (!(set instanceof PySet) || set.frozen) fail(`ADDITEMS on ${describe(set)}`);
    (set as PySet).items.push(...items);
  };
  const persistent = (pid: unknown): unknown => {
    if (!opts.persistentLoad) return fail("persistent ids are not allowed in this pickle");
    return opts.persistentLoad(pid);
  };
  const int = (text: string): number | bigint | boolean => {
    if (text === "00") return false; // protocol 0 spells booleans as INT 00 / 01
    if (text === "01") return true;
    if (!/^[-+]?\d+L?$/.test(text)) fail(`bad integer literal ${JSON.stringify(text)}`);
    return shrink(BigInt(text.replace(/L$/, "")));
  };

  while (true) {
    opPos = pos;
    if (pos >= bytes.length) fail("truncated (no STOP opcode)");
    const op = bytes[pos++];
    switch (op) {
      case 0x80: {
        // PROTO
        const v = u8();
        if (v > 5) fail(`unsupported pickle protocol ${v}`);
        break;
      }
      case 0x95: // FRAME: the whole pickle is in memory, so frames need no handling
        u64();
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x30: // POP
        pop();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(decodeLong(raw(u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = i32();
        if (n < 0) fail("LONG4 with a negative length");
        stack.push(decodeLong(raw(n)));
        break;
      }
      case 0x49: // INT (protocol 0)
        stack.push(int(line()));
        break;
      case 0x4c: // LONG (protocol 0)
        stack.push(int(line()));
        break;
      case 0x47: // BINFLOAT (big-endian double)
        stack.push(view.getFloat64(need(8), false));
        break;
      case 0x46: {
        // FLOAT (protocol 0)
        const text = line();
        const v = Number(text);
        if (Number.isNaN(v) && !/^[-+]?nan$/i.test(text)) fail(`bad float literal ${JSON.stringify(text)}`);
        stack.push(v);
        break;
      }
      case 0x53: {
        // STRING (protocol 0): a Python 2 str as its quoted repr; latin-1 like BINSTRING
        const text = line();
        const q = text[0];
        if (text.length < 2 || (q !== "'" && q !== '"') || text[text.length - 1] !== q)
          fail("STRING argument is not a quoted string");
        stack.push(escapeDecode(text.slice(1, -1), fail));
        break;
      }
      case 0x56: // UNICODE (protocol 0): raw-unicode-escape
        stack.push(rawUnicodeEscapeDecode(line(), fail));
        break;
      case 0x58: // BINUNICODE
        stack.push(utf8(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(utf8(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(utf8(u64()));
        break;
      case 0x54: // BINSTRING (a Python 2 str; latin-1 like Python 3's encoding="latin1")
        stack.push(new TextDecoder("latin1").decode(raw(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(new TextDecoder("latin1").decode(raw(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(raw(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(raw(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        stack.push(raw(u64()).slice());
        break;
      case 0x7d: // EMPTY_DICT
        stack.push(new PyDict());
        break;
      case 0x64: {
        // DICT
        const d = new PyDict();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: // LIST
        pushItems(popMark());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x74: // TUPLE
        pushItems(popMark());
        break;
      case 0x85: // TUPLE1
        stack.push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        stack.push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        stack.push([pop(), b, c]);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new PySet());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        addItems(top(), items);
        break;
      }
      case 0x91: {
        // FROZENSET
        const s = new PySet(true);
        s.items.push(...popMark());
        stack.push(s);
        break;
      }
      case 0x61: {
        // APPEND
        const x = pop();
        appendItems(top(), [x]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const kv = popMark();
        setItems(top(), kv);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x70: // PUT (protocol 0)
        memo.set(Number(int(line())), top());
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()));
        break;
      case 0x67: // GET (protocol 0)
        stack.push(memoGet(Number(int(line()))));
        break;
      case 0x63: {
        // GLOBAL "module\nname\n": checked against the allow-list right here
        const module = line();
        stack.push(global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL needs two strings");
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x69: {
        // INST: names a class like GLOBAL does; check it first so a refused one is reported as unsafe
        const module = line();
        global(module, line());
        fail("INST opcode (protocol 0 object construction) is not supported");
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        stack.push(callable("REDUCE", fn)(asArgs("REDUCE", args)));
        break;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args); only allow-listed classes with a constructor here
        const args = pop();
        const cls = pop();
        stack.push(callable("NEWOBJ", cls)(asArgs("NEWOBJ", args)));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(kwargs instanceof PyDict) || kwargs.items.size > 0)
          fail("NEWOBJ_EX with keyword arguments is not supported");
        stack.push(callable("NEWOBJ_EX", cls)(asArgs("NEWOBJ_EX", args)));
        break;
      }
      case 0x62: {
        // BUILD: sets state on the object below; only dicts keep it (a state dict's `_metadata`)
        const state = pop();
        const obj = top();
        if (obj instanceof PyDict) obj.state = state;
        else if (!isBuildTarget(obj)) fail(`BUILD on ${describe(obj)}`);
        break;
      }
      case 0x51: // BINPERSID
        stack.push(persistent(pop()));
        break;
      case 0x50: // PERSID (protocol 0)
        stack.push(persistent(line()));
        break;
      case 0x82:
      case 0x83:
      case 0x84:
        fail("EXT opcodes (copyreg extension registry) are not supported");
        break;
      case 0x97:
      case 0x98:
        fail("out-of-band buffers (NEXT_BUFFER / READONLY_BUFFER) are not supported");
        break;
      default:
        fail(`unknown or unsupported opcode 0x${op.toString(16).padStart(2, "0")}`);
    }
  }
}

/** Objects BUILD may set (ignored) state on: anything an allow-listed function returned. */
const buildTargets = new WeakSet<object>();
/** Lets an allow-list mark the objects it creates as accepting (and ignoring) BUILD state. */
export function acceptsBuild<T extends object>(obj: T): T {
  buildTargets.add(obj);
  return obj;
}
function isBuildTarget(obj: unknown): boolean {
  return typeof obj === "object" && obj !== null && buildTargets.has(obj);
}

/** Two's-complement little-endian integer (LONG1 / LONG4). */
function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return shrink(v);
}

function shrink(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** A short description of a pickled value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return "None";
  if (v instanceof PyGlobal) return v.qualifiedName;
  if (v instanceof PyDict) return v.className;
  if (v instanceof PySet) return v.frozen ? "frozenset" : "set";
  if (Array.isArray(v)) return `tuple/list of ${v.length}`;
  if (v instanceof Uint8Array) return "bytes";
  if (typeof v === "object") return v.constructor?.name ?? "object";
  return typeof v;
}

/** Builds the error an allow-list throws for a global it refuses. */
const SIMPLE_ESCAPES: Record<string, string> = {
  "\\": "\\",
  "'": "'",
  '"': '"',
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
};

/** Python's `codecs.escape_decode` (what pickle's STRING applies), on latin-1 text. */
function escapeDecode(text: string, fail: (problem: string) => never): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = text[++i];
    if (e === undefined) fail("STRING ends with a lone backslash");
    if (e === "\n") continue; // a backslash-newline continues the line
    if (e in SIMPLE_ESCAPES) out += SIMPLE_ESCAPES[e];
    else if (e === "x") {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail(`STRING has a bad \\x escape`);
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += 2;
    } else if (e >= "0" && e <= "7") {
      let digits = e;
      while (digits.length < 3 && text[i + 1] >= "0" && text[i + 1] <= "7") digits += text[++i];
      out += String.fromCharCode(Number.parseInt(digits, 8) & 0xff);
    } else out += `\\${e}`; // Python keeps an unknown escape as written
  }
  return out;
}

/** Python's `raw_unicode_escape` decoding (pickle's UNICODE): only \\uXXXX and \\UXXXXXXXX are escapes. */
function rawUnicodeEscapeDecode(text: string, fail: (problem: string) => never): string {
  return text.replace(/\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})/g, (_, esc: string) => {
    const cp = Number.parseInt(esc.slice(1), 16);
    if (cp > 0x10ffff) fail(`UNICODE escape \\${esc} is past U+10FFFF`);
    return String.fromCodePoint(cp);
  });
}

export function refuseGlobal(file: string, where: string, module: string, name: string): UnsafePickleError {
  return new UnsafePickleError(
    file,
    `pickle ${where} asks for the global "${module}.${name}", which is not on the allow-list for weights files; refused (nothing was executed)`,
  );
}
