// MLflow's search grammar, evaluated in the page: the twin of gitruns/query/filters.py, so the
// search box and `gitruns runs list -f` accept the same filters and say the same things.
//   metrics.rmse < 4.6 AND (params.max_depth > 5 OR tags.model = 'xgboost')
// A predicate takes {id, name, status, start, end, user, params, metrics, tags}.
(function () {
  "use strict";
  const TOKEN = new RegExp([
    "(?<space>\\s+)",
    "(?<open>\\()",
    "(?<close>\\))",
    "(?<comma>,)",
    "(?<operator>!=|<>|<=|>=|=|<|>)",
    "(?<string>'(?:[^'\\\\]|\\\\.|'')*'|\"(?:[^\"\\\\]|\\\\.)*\")",
    "(?<number>[-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?)",
    "(?<field>[A-Za-z_][A-Za-z0-9_]*\\.(?:`[^`]+`|\"[^\"]+\"|[\\w.\\-/:]+))",
    "(?<word>[A-Za-z_][A-Za-z0-9_]*)",
  ].join("|"), "y");
  const KEYWORDS = new Set(["AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE"]);
  const ENTITIES = {
    metric: "metric", metrics: "metric", param: "param", params: "param", parameter: "param",
    parameters: "param", tag: "tag", tags: "tag", attribute: "attribute", attributes: "attribute",
    attr: "attribute", run: "attribute",
  };
  const NUMERIC_ATTRIBUTES = { start_time: "start", created: "start", end_time: "end" };
  const TEXT_ATTRIBUTES = {
    run_id: "id", run_name: "name", status: "status", user_id: "user", experiment_id: "experiment",
    lifecycle_stage: "lifecycle_stage", parent_run_id: "parent",
  };
  const EXAMPLE = "A filter looks like: metrics.rmse < 6.5 AND params.model = 'xgboost'";

  class FilterError extends Error {
    constructor(text, position, message) {
      // one stop, as the CLI ends it: none after a question
      super("Invalid filter at position " + position + ": " + message + (message.endsWith("?") ? "" : ".") + "\n" + text + "\n" +
        " ".repeat(position) + "^\n" + EXAMPLE);
      this.position = position;
    }
  }

  function tokenize(text) {
    const tokens = [];
    let position = 0;
    while (position < text.length) {
      TOKEN.lastIndex = position;
      const match = TOKEN.exec(text);
      if (!match) throw new FilterError(text, position, "unexpected character '" + text[position] + "'");
      const kind = Object.keys(match.groups).find((name) => match.groups[name] !== undefined);
      const value = match[0];
      if (kind === "word" && KEYWORDS.has(value.toUpperCase())) tokens.push({ kind: "keyword", text: value.toUpperCase(), position: position });
      else if (kind !== "space") tokens.push({ kind: kind, text: value, position: position });
      position += value.length;
    }
    return tokens;
  }

  // The name a user probably meant, by gitruns' one rule (utils/words.py): the same name in
  // another case, else the one name containing it, else the nearest by similarity.
  function closest(word, names) {
    const lowered = word.toLowerCase();
    for (const rule of [(name) => name.toLowerCase() === lowered, (name) => name.toLowerCase().includes(lowered)]) {
      const found = names.filter(rule);
      if (found.length === 1) return found[0];
    }
    let best = null, bestScore = 0.6;
    names.forEach((name) => {
      const score = similarity(word, name);
      if (score >= bestScore) { best = name; bestScore = score; }
    });
    return best;
  }

  // 2 x (characters in common, in order) / (both lengths): difflib's ratio for short names.
  function similarity(a, b) {
    const row = new Array(b.length + 1).fill(0);
    for (let i = 1; i <= a.length; i += 1) {
      let previous = 0;
      for (let j = 1; j <= b.length; j += 1) {
        const kept = row[j];
        row[j] = a[i - 1] === b[j - 1] ? previous + 1 : Math.max(row[j], row[j - 1]);
        previous = kept;
      }
    }
    return (2 * row[b.length]) / (a.length + b.length || 1);
  }

  // A key's own value, else undefined: keys come from records and filters, and a key
  // such as "constructor" must not find what every JavaScript object inherits.
  const own = (object, key) => (object && Object.hasOwn(object, key) ? object[key] : undefined);

  function field(token, text, known) {
    if (token.kind !== "field") throw new FilterError(text, token.position, "expected a field such as metrics.rmse");
    const dot = token.text.indexOf(".");
    const entity = token.text.slice(0, dot);
    let key = token.text.slice(dot + 1);
    const kind = own(ENTITIES, entity.toLowerCase());
    if (!kind) {
      throw new FilterError(text, token.position, "'" + entity + "' is not a kind of field; fields start with metrics, params, tags or attributes (e.g. metrics.rmse)");
    }
    if (key[0] === "`" || key[0] === '"') key = key.slice(1, -1);
    if (kind === "attribute" && own(NUMERIC_ATTRIBUTES, key) === undefined && own(TEXT_ATTRIBUTES, key) === undefined) {
      const known = Object.keys(NUMERIC_ATTRIBUTES).concat(Object.keys(TEXT_ATTRIBUTES)).sort().join(", ");
      throw new FilterError(text, token.position, "unknown attribute '" + key + "'; attributes are " + known);
    }
    const names = known && known[kind];
    if (names && !names.includes(key)) {
      const meant = closest(key, names);
      const hint = meant ? "; did you mean " + kind + "s." + meant + "?"
        : names.length ? "; the runs have " + names.slice().sort().slice(0, 8).join(", ") : "";
      throw new FilterError(text, token.position, "no run has " + kind + "s." + key + hint);
    }
    const numeric = kind === "metric" || (kind === "attribute" && own(NUMERIC_ATTRIBUTES, key) !== undefined);
    const value = (run) => {
      const found = kind === "metric" ? own(run.metrics, key) : kind === "param" ? own(run.params, key)
        : kind === "tag" ? own(run.tags, key) : run[own(NUMERIC_ATTRIBUTES, key) || own(TEXT_ATTRIBUTES, key)];
      return found === undefined ? null : found;
    };
    return { kind: kind, key: key, numeric: numeric, value: value, name: kind + "s." + key };
  }

  function unquote(text) {
    let body = text.slice(1, -1);
    if (text[0] === "'") body = body.replace(/''/g, "'");
    return body.replace(/\\(.)/g, "$1");
  }

  function likePattern(pattern, ignoreCase) {
    let source = "";
    for (const character of pattern) {
      if (character === "%") source += ".*";
      else if (character === "_") source += ".";
      else source += character.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    }
    return new RegExp("^" + source + "$", ignoreCase ? "is" : "s");
  }

  const NUMBER_TESTS = {
    "=": (a, b) => a === b, "!=": (a, b) => a !== b, "<": (a, b) => a < b,
    "<=": (a, b) => a <= b, ">": (a, b) => a > b, ">=": (a, b) => a >= b,
  };

  // known: {metric: [...], param: [...], tag: [...]}, the keys the runs have; a field naming
  // another is refused, as `gitruns runs list -f` refuses it.
  function parse(text, known) {
    const tokens = tokenize(text);
    let index = 0;
    const peek = () => tokens[index] || null;
    const unexpected = (expected) => {
      const token = peek();
      if (!token) return new FilterError(text, text.length, "expected " + expected + ", found the end");
      return new FilterError(text, token.position, "expected " + expected + ", found '" + token.text + "'");
    };
    const take = (kind, value, expected) => {
      const token = peek();
      if (!token || token.kind !== kind || (value !== null && token.text !== value)) throw unexpected(expected);
      index += 1;
      return token;
    };
    const accept = (kind, value) => {
      const token = peek();
      if (token && token.kind === kind && (value === null || token.text === value)) { index += 1; return token; }
      return null;
    };

    function disjunction() {
      const parts = [conjunction()];
      while (accept("keyword", "OR")) parts.push(conjunction());
      return parts.length === 1 ? parts[0] : (run) => parts.some((part) => part(run));
    }
    function conjunction() {
      const parts = [term()];
      while (accept("keyword", "AND")) parts.push(term());
      return parts.length === 1 ? parts[0] : (run) => parts.every((part) => part(run));
    }
    function term() {
      if (accept("open", null)) {
        const inner = disjunction();
        take("close", ")", "')' to close the group");
        return inner;
      }
      const token = peek();
      if (!token || (token.kind !== "field" && token.kind !== "word")) throw unexpected("a field such as metrics.rmse");
      index += 1;
      return condition(field(token, text, known));
    }
    function condition(target) {
      const token = peek();
      if (token && token.kind === "keyword" && token.text === "IS") {
        index += 1;
        const negate = accept("keyword", "NOT") !== null;
        take("keyword", "NULL", "NULL");
        return (run) => (target.value(run) === null) !== negate;
      }
      if (token && token.kind === "keyword" && (token.text === "IN" || token.text === "NOT")) {
        index += 1;
        if (token.text === "NOT") take("keyword", "IN", "IN after NOT");
        if (target.numeric) throw new FilterError(text, token.position, target.name + " is a number; IN compares text");
        take("open", "(", "'(' to start the list");
        const values = new Set([unquote(take("string", null, "a quoted value").text)]);
        while (accept("comma", null)) values.add(unquote(take("string", null, "a quoted value").text));
        take("close", ")", "')' to end the list");
        const negate = token.text === "NOT";
        return (run) => { const value = target.value(run); return value !== null && values.has(String(value)) !== negate; };
      }
      let operator;
      if (token && token.kind === "operator") { index += 1; operator = token.text === "<>" ? "!=" : token.text; }
      else if (token && token.kind === "keyword" && (token.text === "LIKE" || token.text === "ILIKE")) {
        index += 1;
        if (target.numeric) throw new FilterError(text, token.position, target.name + " is a number; LIKE compares text");
        operator = token.text;
      } else throw unexpected("a comparison (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, IS)");
      const valueToken = peek();
      if (!valueToken || (valueToken.kind !== "string" && valueToken.kind !== "number")) throw unexpected("a value ('text' or a number)");
      index += 1;
      if (valueToken.kind === "number") {
        const number = parseFloat(valueToken.text);
        if (!(operator in NUMBER_TESTS)) throw new FilterError(text, valueToken.position, operator + " compares text; quote the value");
        const test = NUMBER_TESTS[operator];
        return (run) => {
          let value = target.value(run);
          if (value === null) return false;
          if (typeof value === "string") { if (value.trim() === "" || Number.isNaN(Number(value))) return false; value = Number(value); }
          return !Number.isNaN(value) && test(value, number);
        };
      }
      if (target.numeric) throw new FilterError(text, valueToken.position, target.name + " is a number; compare it with a number, unquoted");
      if (!["=", "!=", "LIKE", "ILIKE"].includes(operator)) {
        throw new FilterError(text, valueToken.position, operator + " compares numbers; text compares with =, !=, LIKE, ILIKE or IN");
      }
      const wanted = unquote(valueToken.text);
      if (operator === "LIKE" || operator === "ILIKE") {
        const pattern = likePattern(wanted, operator === "ILIKE");
        return (run) => { const value = target.value(run); return value !== null && pattern.test(String(value)); };
      }
      const equal = operator === "=";
      return (run) => { const value = target.value(run); return value !== null && (String(value) === wanted) === equal; };
    }

    if (!tokens.length) throw new FilterError(text, 0, "expected a field such as metrics.rmse");
    const predicate = disjunction();
    const rest = peek();
    if (rest) throw new FilterError(text, rest.position, "expected AND, OR or the end, found '" + rest.text + "'");
    return predicate;
  }

  // A search is a filter when it names a field (metrics.x, params.y...) or compares:
  // anything else is words to find in the table.
  function looksLikeFilter(text) {
    return /(^|[\s(])(metrics?|params?|parameters?|tags?|attributes?|attr|run)\.\S/i.test(text) || /[<>=]/.test(text);
  }

  window.gitrunsFilter = { parse: parse, looksLikeFilter: looksLikeFilter, FilterError: FilterError };
})();
