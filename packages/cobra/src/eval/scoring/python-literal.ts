/**
 * Just enough of Python's `ast.literal_eval` to read what vlm-evaluation's `parse_bbox` accepts: a list display
 * whose items are numbers (int, float, with at most one sign), booleans, or parenthesized such items. Any other
 * text (a tuple, a string, a complex number, None, a syntax error) gives null: in Python it either fails to
 * evaluate or fails parse_bbox's comparisons, which parse_bbox turns into None all the same.
 */
export type PyLiteral = number | boolean | PyLiteral[];

type Token =
  | { kind: "punct"; value: string }
  | { kind: "number"; value: number }
  | { kind: "name"; value: string };

// Python 3 numeric literals (underscores between digits); a trailing j/J makes a complex number.
const DIGITS = "[0-9](?:_?[0-9])*";
const EXPONENT = `[eE][+-]?${DIGITS}`;
const FLOAT = `(?:${DIGITS}\\.(?:${DIGITS})?(?:${EXPONENT})?|\\.${DIGITS}(?:${EXPONENT})?|${DIGITS}${EXPONENT})`;
const INT = "(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?[0-9])*|0+(?:_?0)*)";
const NUMBER = new RegExp(`^(?:(${FLOAT})|(${INT}))([jJ])?`);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

function tokenize(text: string): Token[] | null {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f") {
      i++;
      continue;
    }
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
      continue;
    }
    if ("[](),+-".includes(c)) {
      tokens.push({ kind: "punct", value: c });
      i++;
      continue;
    }
    const rest = text.slice(i);
    const num = NUMBER.exec(rest);
    if (num) {
      if (num[3] || NAME.test(rest.slice(num[0].length)) || /^[0-9.]/.test(rest.slice(num[0].length)))
        return null;
      const literal = num[0].replaceAll("_", "");
      let value: number;
      if (num[1] !== undefined) value = Number(literal);
      else if (/^0[oO]/.test(literal)) value = Number.parseInt(literal.slice(2), 8);
      else value = Number(literal); // decimal, 0x and 0b parse as JS numbers
      tokens.push({ kind: "number", value });
      i += num[0].length;
      continue;
    }
    const name = NAME.exec(rest);
    if (name) {
      tokens.push({ kind: "name", value: name[0] });
      i += name[0].length;
      continue;
    }
    return null; // strings, operators, anything literal_eval would not make a number of
  }
  return tokens;
}

/** The value of `text` when it is such a literal, else null. Leading spaces/tabs are dropped as literal_eval does. */
export function literalEvalNumbers(text: string): PyLiteral | null {
  const tokens = tokenize(text.replace(/^[ \t]+/, ""));
  if (!tokens || tokens.length === 0) return null;
  let at = 0;
  const isPunct = (v: string) => tokens[at]?.kind === "punct" && tokens[at].value === v;
  const expr = (): PyLiteral | null => {
    const t = tokens[at];
    if (!t) return null;
    if (t.kind === "number") {
      at++;
      return t.value;
    }
    if (t.kind === "name") {
      at++;
      return t.value === "True" ? true : t.value === "False" ? false : null;
    }
    if (t.value === "+" || t.value === "-") {
      // literal_eval takes one sign on a number literal (not on a bool, not twice)
      const n = tokens[at + 1];
      if (n?.kind !== "number") return null;
      at += 2;
      return t.value === "-" ? -n.value : n.value;
    }
    if (t.value === "(") {
      at++;
      const inner = expr();
      if (inner === null || !isPunct(")")) return null;
      at++;
      return inner;
    }
    if (t.value === "[") {
      at++;
      const items: PyLiteral[] = [];
      while (!isPunct("]")) {
        const item = expr();
        if (item === null) return null;
        items.push(item);
        if (isPunct(",")) at++;
        else if (!isPunct("]")) return null;
      }
      at++;
      return items;
    }
    return null;
  };
  const value = expr();
  return value !== null && at === tokens.length ? value : null;
}
