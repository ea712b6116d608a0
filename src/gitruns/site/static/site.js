// gitruns site: charts, sortable and filterable tables, run selection, comparison.
// User data reaches the page only through textContent and Vega datasets, never as markup.
(function () {
  "use strict";
  const root = document.body.dataset.root || "";
  const data = () => (window.GITRUNS = window.GITRUNS || {});
  const hiddenFromCharts = new Set();  // runs whose eye is closed in the table
  // Data files are named by ids; anything else (from a URL or a record) is never loaded.
  const RUN_ID = /^[0-9a-f]{32}$/;
  const EXPERIMENT_ID = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

  function loadScript(src) {
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => reject(new Error("could not load " + src));
      document.head.appendChild(script);
    });
  }

  function spec(id) {
    return JSON.parse(document.getElementById(id).textContent);
  }

  // The chart library is an async script: the browser compiles it while the page's data
  // loads and its tables draw, and the charts wait for it; tables never do.
  let vegaLoaded = null;
  function vega() {
    if (!vegaLoaded) {
      const tag = document.getElementById("vega-script");
      if (window.vegaEmbed) vegaLoaded = Promise.resolve();
      else if (tag) vegaLoaded = new Promise((resolve, reject) => {
        tag.addEventListener("load", resolve);
        tag.addEventListener("error", () => reject(new Error("could not load the chart library")));
      });
      else vegaLoaded = loadScript(root + "assets/vega.js");
    }
    return vegaLoaded;
  }

  function embed(element, chart, datasets) {
    chart.datasets = Object.assign({}, chart.datasets || {}, datasets);
    return vega().then(() => window.vegaEmbed(element, chart, { actions: false, renderer: "canvas" })).then((result) => {
      if (element.gitrunsView) element.gitrunsView.finalize();
      element.gitrunsView = result.view;  // the drawn chart, for whoever reads its data
      element.gitrunsSpec = chart;
      return result;
    });
  }

  // An experiment's data file leaves out what the page can work out: put it back, once.
  function decodeColumn(column, count) {
    if (Array.isArray(column)) return column;
    const values = new Array(count);
    for (let i = 0; i < count; i++) values[i] = column.c[i] < 0 ? null : column.d[column.c[i]];
    return values;
  }
  // The data file holds columns (see _columnar in gitruns/site). A run is a small object
  // knowing its position; its fields are read from the columns through its prototype,
  // so 100,000 runs cost 100,000 small objects, not 2,500,000 copied fields.
  function rowsOf(dataset) {
    const count = dataset.count || 0;
    const columns = dataset.columns || {};
    const plain = Object.keys(columns).filter((key) => !["tags", "raw", "registered"].includes(key))
      .map((key) => [key, decodeColumn(columns[key], count)]);
    const tagColumns = Object.keys(columns.tags || {}).map((key) => [key, decodeColumn(columns.tags[key], count)]);
    const commits = (tagColumns.find(([key]) => key === "mlflow.source.git.commit") || [null, []])[1];
    const raw = columns.raw || {};
    const registered = columns.registered || {};
    const width = dataset.width || 12;
    const prototype = {};
    const field = (get) => ({ get: get, enumerable: true, configurable: true });
    plain.forEach(([key, values]) => {
      Object.defineProperty(prototype, key, field(function () {
        const value = values[this.position];
        return value === undefined ? null : value;
      }));
    });
    Object.defineProperties(prototype, {
      experiment: { value: dataset.id, enumerable: true },
      fields: { value: plain.map(([key]) => key) },
      run: field(function () { return this.name + " (" + this.id.slice(0, width) + ")"; }),
      parent_run: field(function () {
        const values = columns.parent_run ? decoded.parent_run : null;
        return (values && values[this.position]) || this.parent;
      }),
      commit: field(function () { return (commits[this.position] || "").slice(0, 8); }),
      raw: field(function () { return Object.hasOwn(raw, this.position) ? raw[this.position] : null; }),
      registered: field(function () {
        return Object.hasOwn(registered, this.position) ? registered[this.position] : null;
      }),
      started: field(function () {
        return new Date(this.start).toISOString().slice(0, 16).replace("T", " ") + " UTC";
      }),
      tags: field(function () {
        const tags = Object.assign(Object.create(null), { "mlflow.runName": this.name, "mlflow.user": this.user });
        for (const [key, values] of tagColumns) {
          const value = values[this.position];
          if (value !== null && value !== undefined) tags[key] = value;
        }
        return tags;
      }),
    });
    const decoded = Object.fromEntries(plain);
    const runs = new Array(count);
    for (let i = 0; i < count; i++) {
      runs[i] = Object.create(prototype);
      runs[i].position = i;
    }
    return runs;
  }

  // What a chart reads of a run, as a plain object (charts copy their data's own fields).
  function chartRow(run) {
    const row = { id: run.id, run: run.run, color: run.color };
    run.fields.forEach((key) => { row[key] = run[key]; });
    return row;
  }

  // An experiment's rows come in chunks (a pull rewrites only those it touched), each
  // naming its own params and metrics; the head gives the order the table shows them in
  // and which are children. Each value goes straight to its place in the columns rowsOf
  // reads: one pass over each chunk's columns, whatever their count.
  function assembleChunks(dataset) {
    // A chunk that did not load (or not as the head says) leaves its runs out, never
    // another run's values in their place.
    const sizes = dataset.sizes || [];
    const starts = [];
    let total = 0;
    sizes.forEach((size) => { starts.push(total); total += size; });
    const parts = [];
    const loaded = new Uint8Array(total);
    (dataset.chunks || []).forEach((name, n) => {
      const part = data()["experiment:" + dataset.id + ":" + name];
      if (!part || !part.columns || part.count !== sizes[n]) {
        console.error("gitruns: the data of chunk " + name + " did not load; its runs are left out");
        return;
      }
      parts.push({ part: part, offset: starts[n] });
      loaded.fill(1, starts[n], starts[n] + sizes[n]);
    });
    const order = (dataset.order || []).filter((row) => row < total && loaded[row]);
    const count = order.length;
    const position = new Int32Array(total).fill(-1);  // a chunk row's place in the table
    order.forEach((row, i) => { position[row] = i; });
    const globalIndex = {
      p: new Map(dataset.params.map((key, i) => [key, i])),
      m: new Map(dataset.metrics.map((key, i) => [key, i])),
    };
    const renamed = (part, key) => {
      if (!/^[pm]\d+$/.test(key)) return key;
      const kind = key[0];
      const name = (kind === "p" ? part.params : part.metrics)[Number(key.slice(1))];
      return globalIndex[kind].has(name) ? kind + globalIndex[kind].get(name) : null;
    };
    // Keys come from records (a tag named "__proto__"): objects without a prototype, and
    // only their own keys read, so no key reaches Object.prototype.
    const bare = () => Object.create(null);
    const columns = Object.assign(bare(), { tags: bare(), raw: bare(), registered: bare() });
    const column = (into, key) => (Object.hasOwn(into, key) ? into[key] : (into[key] = new Array(count).fill(null)));
    parts.forEach(({ part, offset }) => {
      const size = part.count;
      const put = (out, encoded) => {
        if (Array.isArray(encoded)) {
          for (let j = 0; j < size; j++) {
            const at = position[offset + j];
            if (at >= 0) out[at] = encoded[j] === undefined ? null : encoded[j];
          }
        } else {
          const values = encoded.d, codes = encoded.c;
          for (let j = 0; j < size; j++) {
            const at = position[offset + j];
            if (at >= 0) out[at] = codes[j] < 0 ? null : values[codes[j]];
          }
        }
      };
      Object.entries(part.columns).forEach(([key, encoded]) => {
        if (key === "tags") {
          Object.entries(encoded).forEach(([tag, values]) => put(column(columns.tags, tag), values));
        } else if (key === "raw") {
          Object.entries(encoded).forEach(([row, fields]) => {
            const at = position[offset + Number(row)];
            if (at === undefined || at < 0) return;
            const found = bare();
            Object.entries(fields).forEach(([field, value]) => { const name = renamed(part, field); if (name) found[name] = value; });
            columns.raw[at] = found;
          });
        } else {
          const name = renamed(part, key);
          if (name) put(column(columns, name), encoded);
        }
      });
    });
    const child = dataset.child || [];
    const parents = columns.parent || new Array(count).fill(null);
    columns.parent = parents.map((parent, i) => (child[i] ? parent : null));
    columns.parent_run = parents.map((parent, i) => (child[i] ? null : parent));
    const registered = dataset.registered || {};
    const ids = columns.id || [];
    if (Object.keys(registered).length) {
      ids.forEach((id, i) => { if (Object.hasOwn(registered, id)) columns.registered[i] = registered[id]; });
    }
    dataset.columns = columns;
    dataset.count = count;
  }

  // "experiment:<id>" is an experiment's head; "experiment:<id>:<n>" one of its chunks.
  const isExperimentKey = (key) => key.startsWith("experiment:") && key.split(":").length === 2;

  function prepareDataset(dataset) {
    if (!dataset.prepared) {
      if (dataset.chunks) assembleChunks(dataset);
      dataset.runs = rowsOf(dataset);
      dataset.prepared = true;
    }
    return dataset;
  }

  function runColors() {
    const colors = {};
    Object.keys(data()).filter(isExperimentKey).forEach((key) => {
      prepareDataset(data()[key]).runs.forEach((run) => { colors[run.id] = run.color; });
    });
    return colors;
  }

  // Colours for runs shown together: each run's own, but a colour another of them already
  // has (the palette repeats after 20 runs) is replaced by one of no other shown run.
  function distinctColors(colors) {
    const taken = new Set();
    return colors.map((color, index) => {
      let chosen = color || "#999";
      for (let turn = 0; taken.has(chosen); turn += 1) {
        chosen = "hsl(" + Math.round((index * 137.5 + turn * 53) % 360) + ", 65%, 42%)";
      }
      taken.add(chosen);
      return chosen;
    });
  }

  function historyRows(ids) {
    const rows = [];
    const own = runColors();
    const colors = distinctColors(ids.map((id) => own[id] || "#4e79a7"));
    ids.forEach((id, index) => {
      const history = data()["history:" + id];
      if (!history || hiddenFromCharts.has(id)) return;
      Object.entries(history.metrics).forEach(([metric, points]) => {
        points.forEach(([step, value]) => {
          // history.run is "name (id)": one legend entry a run, however names repeat
          if (value !== null) rows.push({ run: history.run, metric: metric, step: step, value: value, color: colors[index] });
        });
      });
    });
    return rows;
  }

  // Several runs overlaid: a legend of their names in their colours, and a dash each, so
  // curves that lie on each other still show as two.
  function legendFor(chart, rows) {
    const unit = chart.spec || chart;
    const colorOf = {};
    rows.forEach((row) => { colorOf[row.run] = row.color; });
    const runs = Object.keys(colorOf);
    if (runs.length < 2) return chart;
    const legend = { title: "run", orient: "bottom", columns: 4, symbolType: "stroke", labelLimit: 240 };
    unit.encoding.color = {
      field: "run", type: "nominal", legend: legend,
      scale: { domain: runs, range: runs.map((run) => colorOf[run]) },
    };
    unit.encoding.strokeDash = { field: "run", type: "nominal", legend: legend, scale: { domain: runs } };
    return chart;
  }

  // Histories as the reader asks: a log scale, a moving average over a few steps.
  function historySpec(chart) {
    const controls = document.querySelector("[data-history-controls]");
    if (!controls) return chart;
    const unit = chart.spec || chart;
    const log = controls.querySelector("[data-history-log]").checked;
    const steps = Number(controls.querySelector("[data-history-smoothing]").value);
    unit.transform = unit.transform || [];
    if (log) {
      unit.transform.push({ filter: "datum.value > 0" });
      unit.encoding.y.scale = Object.assign({}, unit.encoding.y.scale, { type: "log" });
    }
    if (steps > 1) {
      unit.transform.push({
        window: [{ op: "mean", field: "value", as: "smoothed" }],
        frame: [-(steps - 1), 0], groupby: ["run", "metric"], sort: [{ field: "step" }],
      });
      unit.encoding.y.field = "smoothed";
    }
    return chart;
  }
  document.querySelectorAll("[data-history-controls] input, [data-history-controls] select").forEach((control) => {
    control.addEventListener("change", () => {
      const element = document.getElementById("selected-histories");
      const ids = picked();
      if (element && ids.length) drawHistories(element, ids).catch((error) => console.error(error));
    });
  });

  function drawHistories(element, ids) {
    const chart = historySpec(spec(element.dataset.histories));
    ids = ids.filter((id) => RUN_ID.test(id));
    return Promise.all(ids.map((id) => data()["history:" + id] ? null : loadScript(root + "data/runs/" + id + ".js")))
      .then(() => {
        const rows = historyRows(ids);
        return embed(element, legendFor(chart, rows), { histories: rows });
      });
  }

  // Charts over an experiment's shared data file: the runs the table shows, less those
  // whose eye is closed.
  function drawSharedCharts() {
    const charted = {};  // dataset name -> its rows as the charts read them, made once
    document.querySelectorAll("[data-spec]").forEach((element) => {
      const name = element.dataset.dataset;
      if (!charted[name]) {
        const found = data()[name];
        charted[name] = found ? chartedRuns(prepareDataset(found).runs).map(chartRow) : [];
      }
      embed(element, spec(element.dataset.spec), { runs: charted[name] })
        .then(() => { if (element.dataset.axes !== undefined) chooseAxes(element); })
        .catch((error) => console.error(error));
    });
  }

  // Parallel coordinates: the axes the reader ticks, the metric always last.
  function chooseAxes(element) {
    const figure = element.closest("figure");
    const boxes = Array.from(figure.querySelectorAll("input[data-axis]"));
    if (!boxes.length || !element.gitrunsView) return;
    const current = element.gitrunsView.signal("axes");
    const metric = current[current.length - 1];
    const chosen = boxes.filter((box) => box.checked).map((box) => box.dataset.axis);
    element.gitrunsView.signal("axes", chosen.concat([metric])).runAsync();
  }
  document.querySelectorAll("input[data-axis]").forEach((box) => {
    box.addEventListener("change", () => chooseAxes(box.closest("figure").querySelector("[data-axes]")));
  });
  // A run page's own histories.
  document.querySelectorAll("[data-run-histories]").forEach((element) => {
    drawHistories(element, [element.dataset.runHistories]).catch((error) => console.error(error));
  });

  // Sorting the site's small tables: click a header; numbers sort as numbers, empty
  // cells last. (The runs table sorts its data instead: see below.)
  function compareKeys(a, b, descending) {
    if (a.empty !== b.empty) return a.empty ? 1 : -1;
    let order;
    if (a.number !== null && b.number !== null) order = a.number - b.number;
    else order = a.text < b.text ? -1 : a.text > b.text ? 1 : 0;
    return descending ? -order : order;
  }
  function sortKey(raw) {
    raw = raw === null || raw === undefined ? "" : String(raw);
    const number = parseFloat(raw);
    return { empty: raw === "", number: Number.isNaN(number) ? null : number, text: raw.toLowerCase() };
  }
  function toggleSort(header) {
    const descending = header.getAttribute("aria-sort") === "ascending";
    header.closest("table").querySelectorAll("th[aria-sort]").forEach((other) => other.removeAttribute("aria-sort"));
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    return descending;
  }
  document.querySelectorAll("table.grid:not(#runs) th[data-sort]").forEach((header) => {
    header.addEventListener("click", () => {
      const body = header.closest("table").tBodies[0];
      const index = Array.from(header.parentNode.children).indexOf(header);
      const descending = toggleSort(header);
      const key = (row) => {
        const cell = row.children[index];
        return sortKey(cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim());
      };
      Array.from(body.rows).map((row) => ({ row: row, key: key(row) }))
        .sort((a, b) => compareKeys(a.key, b.key, descending))
        .forEach((item) => body.appendChild(item.row));
    });
  });

  // The runs table, drawn from the experiment's data file: a tree of runs (a parent's
  // children open under it), sorted, filtered, and only the rows in view are in the page.
  const runsTable = document.getElementById("runs");
  const runsWrap = runsTable ? runsTable.closest(".table-wrap") : null;
  const OVERSCAN = 40;  // rows drawn beyond each edge of the view, so scrolling never shows a gap
  const table = {
    runs: [], byId: {}, children: {}, roots: [],
    open: new Set(), picked: new Set(),
    sort: null,  // { key, descending }
    rows: [],  // the runs the table shows, in order
    rowHeight: 30, first: -1, last: -1,
  };
  let filterMatch = null;  // id -> true when the filter is on

  function columnValue(run, key) {
    if (key === "name") return run.name;
    if (key === "start") return run.start;
    if (key === "duration") return run.end === null || run.end === undefined ? null : run.end - run.start;
    if (key === "registered") return (run.registered || []).join(" ");
    if (key === "status" || key === "commit" || key === "user") return run[key];
    const [kind, index] = key.split("-");
    if (kind === "metric") return run["m" + index];
    if (kind === "param") return paramText(run, Number(index));
    if (kind === "tag") return run.tags[experimentData().tagKeys[Number(index)]];
    return null;
  }
  function paramText(run, index) {
    const raw = run.raw || {};
    const value = run["p" + index];
    if (value === null || value === undefined) return "";
    return ("p" + index) in raw ? raw["p" + index] : String(value);
  }

  function setUpRunsTable() {
    const dataset = experimentData();
    dataset.tagKeys = Array.from(runsTable.querySelectorAll("th[data-col^='tag-']")).map((th) => th.title.slice(5));
    table.runs = dataset.runs;
    table.runs.forEach((run, order) => {
      run.order = order;
      table.byId[run.id] = run;
    });
    table.runs.forEach((run) => {
      if (run.parent && table.byId[run.parent]) (table.children[run.parent] = table.children[run.parent] || []).push(run);
      else table.roots.push(run);
    });
    runsTable.querySelectorAll("th[data-sort]").forEach((header) => {
      header.addEventListener("click", () => {
        table.sort = { key: header.dataset.key, descending: toggleSort(header) };
        refreshRows();
      });
    });
    runsWrap.addEventListener("scroll", () => requestAnimationFrame(() => drawRows(false)), { passive: true });
    window.addEventListener("resize", () => drawRows(true));
    refreshRows(false);
    drawSharedCharts();
  }

  // Which runs the table shows, in order: with no filter, roots and the children of open
  // parents; with one, the matches and their ancestors.
  function refreshRows(redraw = true) {
    let shown = null;
    if (filterMatch !== null) {
      shown = new Set();
      table.runs.forEach((run) => {
        if (!filterMatch[run.id]) return;
        for (let current = run; current && !shown.has(current.id); current = current.parent ? table.byId[current.parent] : null) {
          shown.add(current.id);  // a match shows its ancestors
        }
      });
    }
    const sorted = (runs) => {
      if (!table.sort) return runs;
      const keyed = runs.map((run) => ({ run: run, key: sortKey(columnValue(run, table.sort.key)) }));
      keyed.sort((a, b) => compareKeys(a.key, b.key, table.sort.descending) || a.run.order - b.run.order);
      return keyed.map((item) => item.run);
    };
    const rows = [];
    const place = (runs) => sorted(runs).forEach((run) => {
      if (shown !== null && !shown.has(run.id)) return;
      rows.push(run);
      if (shown !== null || table.open.has(run.id)) place(table.children[run.id] || []);
    });
    place(table.roots);
    table.rows = rows;
    drawRows(true);
    if (redraw) redrawCharts();
  }

  function visibleColumns() {
    return Array.from(runsTable.querySelectorAll("thead th[data-col]")).filter((th) => !th.hidden).map((th) => th.dataset.col);
  }

  function drawRows(force) {
    if (!runsTable) return;
    const count = table.rows.length;
    const view = runsWrap.clientHeight || 600;
    const top = Math.max(0, runsWrap.scrollTop - runsTable.tHead.offsetHeight);
    const first = Math.max(0, Math.floor(top / table.rowHeight) - OVERSCAN);
    const last = Math.min(count, Math.ceil((top + view) / table.rowHeight) + OVERSCAN);
    if (!force && first === table.first && last === table.last) return;
    table.first = first;
    table.last = last;
    const body = runsTable.tBodies[0];
    const columns = visibleColumns();
    const fragment = document.createDocumentFragment();
    const span = columns.length + 8;
    if (first > 0) fragment.appendChild(spacer(first * table.rowHeight, span));
    for (let index = first; index < last; index++) fragment.appendChild(runRow(table.rows[index], columns));
    if (last < count) fragment.appendChild(spacer((count - last) * table.rowHeight, span));
    body.replaceChildren(fragment);
    const drawn = body.querySelector("tr[data-id]");
    if (drawn && drawn.offsetHeight && Math.abs(drawn.offsetHeight - table.rowHeight) > 0.5) {
      table.rowHeight = drawn.offsetHeight;  // measured once rows exist; redraw to match
      drawRows(true);
    }
  }

  function spacer(height, span) {
    const row = document.createElement("tr");
    row.className = "spacer";
    row.setAttribute("aria-hidden", "true");
    const cell = document.createElement("td");
    cell.colSpan = span;
    cell.style.height = height + "px";
    cell.style.padding = "0";
    cell.style.border = "0";
    row.appendChild(cell);
    return row;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function runRow(run, columns) {
    const row = document.createElement("tr");
    row.dataset.id = run.id;
    const depth = depthOf(run);
    if (depth) {
      row.dataset.parent = run.parent;
      row.className = "child depth-" + Math.min(depth, 4);
    }
    row.style.setProperty("--run-color", run.color);
    const pick = element("td", "pick-cell");
    const box = element("input", "pick");
    box.type = "checkbox";
    box.value = run.id;
    box.checked = table.picked.has(run.id);
    box.setAttribute("aria-label", "select " + run.name);
    box.addEventListener("change", () => {
      if (box.checked) table.picked.add(run.id); else table.picked.delete(run.id);
      pickedChanged();
    });
    const eye = element("button", "eye");
    eye.type = "button";
    const shown = !hiddenFromCharts.has(run.id);
    eye.setAttribute("aria-pressed", shown ? "true" : "false");
    eye.title = shown ? "Shown in the charts: click to hide" : "Hidden from the charts: click to show";
    eye.setAttribute("aria-label", "show " + run.name + " in the charts");
    eye.addEventListener("click", () => {
      if (hiddenFromCharts.has(run.id)) hiddenFromCharts.delete(run.id); else hiddenFromCharts.add(run.id);
      drawRows(true);
      redrawCharts();
    });
    pick.append(box, eye);
    const name = element("td", "name");
    name.appendChild(element("span", "dot")).setAttribute("aria-hidden", "true");
    const children = (table.children[run.id] || []).length;
    if (children) {
      const open = filterMatch !== null || table.open.has(run.id);
      const toggle = element("button", "toggle", (open ? "▾ " : "▸ ") + children);
      toggle.type = "button";
      toggle.title = "Show its " + children + " child runs";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      toggle.addEventListener("click", () => {
        if (table.open.has(run.id)) closeTree(run.id); else table.open.add(run.id);
        refreshRows();
      });
      name.appendChild(toggle);
    }
    const link = element("a", "run-name", run.name);
    link.href = root + "runs/" + run.id + ".html";
    link.title = run.name; // a name cut to the column's width is whole on hover
    name.append(link, " ", element("code", "", run.id.slice(0, Number(runsWrap.dataset.width) || 12)));
    const status = element("td");
    status.appendChild(element("span", "status status-" + String(run.status).toLowerCase(), run.status));
    const started = element("td", "nowrap", run.started);
    const duration = element("td", "nowrap", run.duration);
    row.append(pick, name, status, started, duration);
    columns.forEach((column) => {
      const value = columnValue(run, column);
      const cell = element("td", column.startsWith("metric-") ? "num" : "");
      cell.dataset.col = column;
      if (column.startsWith("metric-")) {
        cell.textContent = value === null || value === undefined ? "" : compact(value);
        if (value !== null && value !== undefined) cell.title = String(value);
      } else {
        cell.textContent = value === null || value === undefined ? "" : value;
      }
      row.appendChild(cell);
    });
    const registered = element("td");
    (run.registered || []).forEach((text) => registered.append(element("span", "registered", text), " "));
    const commit = element("td");
    commit.appendChild(element("code", "", run.commit));
    row.append(registered, commit, element("td", "", run.user));
    return row;
  }

  function depthOf(run) {
    let depth = 0;
    for (let current = run; current.parent && table.byId[current.parent] && depth < 100; current = table.byId[current.parent]) depth++;
    return depth;
  }
  function closeTree(id) {
    table.open.delete(id);
    (table.children[id] || []).forEach((child) => closeTree(child.id));
  }

  const expandAll = document.getElementById("expand-all");
  if (expandAll) {
    expandAll.addEventListener("click", () => {
      const open = expandAll.textContent === "Expand all";
      Object.keys(table.children).forEach((id) => { if (open) table.open.add(id); else table.open.delete(id); });
      expandAll.textContent = open ? "Collapse all" : "Expand all";
      refreshRows();
    });
  }

  // Filtering: MLflow's search grammar (window.gitrunsFilter), or words in any cell.
  const filterInput = document.getElementById("run-filter");
  const filterError = document.getElementById("filter-error");
  function experimentData() {
    const table = document.querySelector("[data-dataset]");
    const name = table ? table.dataset.dataset : null;
    const found = Object.keys(data()).filter(isExperimentKey);
    const dataset = data()[name || found[0]];
    return dataset ? prepareDataset(dataset) : { runs: [], params: [], metrics: [] };
  }
  function runRecord(dataset, run) {
    // Keyed by the runs' own keys (a param named "constructor"): objects with no prototype.
    const params = Object.create(null), metrics = Object.create(null);
    const raw = run.raw || {};
    dataset.params.forEach((key, index) => {
      const value = run["p" + index];
      if (value !== null && value !== undefined) params[key] = ("p" + index) in raw ? raw["p" + index] : String(value);
    });
    dataset.metrics.forEach((key, index) => { const value = run["m" + index]; if (value !== null && value !== undefined) metrics[key] = value; });
    return {
      id: run.id, name: run.name, status: run.status, start: run.start, end: run.end, user: run.user,
      experiment: run.experiment, lifecycle_stage: "active", parent: run.parent_run || null,
      params: params, metrics: metrics, tags: run.tags || Object.create(null),
    };
  }
  // The metrics and params some run of the page has: a filter naming another is a typo
  // the page names (tags are sparse and partly derived, so any tag key is taken).
  function knownKeys(dataset) {
    return { metric: dataset.metrics, param: dataset.params };
  }
  function rowText(run) {  // what a word search looks in: every cell the table can show
    if (run.text === undefined) {
      const dataset = experimentData();
      const parts = [run.name, run.id, run.status, run.started, run.duration, run.commit, run.user, (run.registered || []).join(" ")];
      dataset.params.forEach((_, index) => parts.push(paramText(run, index)));
      dataset.metrics.forEach((_, index) => { const value = run["m" + index]; if (value !== null && value !== undefined) parts.push(compact(value)); });
      Object.entries(run.tags || {}).forEach(([key, value]) => { if (!key.startsWith("mlflow.")) parts.push(value); });
      run.text = parts.join(" ").toLowerCase();
    }
    return run.text;
  }
  if (filterInput) {
    filterInput.addEventListener("input", () => {
      const text = filterInput.value.trim();
      filterError.hidden = true;
      filterInput.removeAttribute("aria-invalid");
      if (!text) { filterMatch = null; refreshRows(); return; }
      const dataset = experimentData();
      let predicate;
      if (window.gitrunsFilter.looksLikeFilter(text)) {
        try {
          const parsed = window.gitrunsFilter.parse(text, knownKeys(dataset));
          predicate = (run) => parsed(runRecord(dataset, run));
        } catch (error) {
          filterError.textContent = error.message;
          filterError.hidden = false;
          filterInput.setAttribute("aria-invalid", "true");
          return;
        }
      } else {
        const words = text.toLowerCase().split(/\s+/).filter(Boolean);
        predicate = (run) => words.every((word) => rowText(run).includes(word));
      }
      filterMatch = {};
      dataset.runs.forEach((run) => { filterMatch[run.id] = predicate(run); });
      refreshRows();
    });
  }

  // Choosing columns, and finding one among many.
  document.querySelectorAll("input[data-column]").forEach((box) => {
    box.addEventListener("change", () => {
      document.querySelectorAll('th[data-col="' + box.dataset.column + '"]').forEach((cell) => {
        cell.hidden = !box.checked;
      });
      drawRows(true);
    });
  });
  document.querySelectorAll("input.column-search").forEach((search) => {
    search.addEventListener("input", () => {
      const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
      search.closest(".chooser").querySelectorAll("label[data-label]").forEach((label) => {
        label.hidden = !words.every((word) => label.dataset.label.toLowerCase().includes(word));
      });
    });
  });

  // The charts show the runs the table shows (all of them, not only those in view),
  // less those whose eye is closed.
  // Past a few thousand, more points only hide each other and slow the page: the charts
  // then show the best runs by the primary metric, and say so.
  const MAX_CHARTED = 1000;
  function chartedRuns(runs) {
    if (!runsTable) return runs;
    let charted = runs.filter((run) => !hiddenFromCharts.has(run.id));
    if (filterMatch !== null) {
      const shown = new Set(table.rows.map((run) => run.id));
      charted = charted.filter((run) => shown.has(run.id));
    }
    const note = document.getElementById("charted-note");
    if (charted.length > MAX_CHARTED) {
      const sign = experimentData().goal === "maximize" ? -1 : 1;
      const score = (run) => (typeof run.m0 === "number" && Number.isFinite(run.m0) ? sign * run.m0 : Infinity);
      const count = charted.length;
      charted = charted.slice().sort((a, b) => score(a) - score(b)).slice(0, MAX_CHARTED);
      if (note) {
        note.textContent = "The charts show the best " + MAX_CHARTED.toLocaleString() + " of " +
          count.toLocaleString() + " runs by " + (experimentData().metrics[0] || "the primary metric") +
          ": filter the table to chart others.";
        note.hidden = false;
      }
    } else if (note && charted.length === 0 && runs.length > 0) {
      // Empty frames say nothing: the page says why there is nothing to draw.
      note.textContent = filterMatch !== null
        ? "No run matches this filter, so the charts have nothing to draw: change it, or clear it to see every run."
        : "Every run's eye is closed, so the charts have nothing to draw: open one in the table.";
      note.hidden = false;
    } else if (note) {
      note.hidden = true;
    }
    const charts = document.querySelector("section.charts");
    if (charts) charts.hidden = charted.length === 0 && runs.length > 0;
    return charted;
  }
  let redrawTimer = null;
  function redrawCharts() {
    clearTimeout(redrawTimer);
    redrawTimer = setTimeout(() => {
      drawSharedCharts();
      const ids = picked();
      if (selectedHistories && ids.length) drawHistories(selectedHistories, ids).catch((error) => console.error(error));
    }, 150);
  }

  // Picking runs: draw their histories, and compare them.
  const compare = document.getElementById("compare");
  const selectedHistories = document.getElementById("selected-histories");
  function picked() {
    return Array.from(table.picked);
  }
  function pickedChanged() {
    const ids = picked();
    if (compare) compare.disabled = ids.length < 2;
    if (selectedHistories && ids.length) drawHistories(selectedHistories, ids).catch((error) => console.error(error));
  }
  if (compare) {
    compare.addEventListener("click", () => {
      window.location.href = root + "compare.html?runs=" + encodeURIComponent(picked().join(","));
    });
  }

  // The comparison page.
  const comparison = document.getElementById("comparison");
  if (comparison) {
    const ids = (new URLSearchParams(window.location.search).get("runs") || "").split(",").filter((id) => RUN_ID.test(id));
    const index = data().runs || {};
    const experiments = Array.from(new Set(ids.map((id) => Object.hasOwn(index, id) ? index[id] : null)
      .filter((id) => typeof id === "string" && EXPERIMENT_ID.test(id))));
    if (ids.length >= 2 && experiments.length) {
      Promise.all(experiments.map((id) => loadScript(root + "data/experiments/" + id + ".js")
        .then(() => Promise.all(((data()["experiment:" + id] || {}).chunks || [])
          .filter((name) => /^\d+$/.test(name))
          .map((name) => loadScript(root + "data/experiments/" + id + "/" + name + ".js"))))))
        .then(() => {
          const rows = {};
          experiments.forEach((id) => {
            const dataset = prepareDataset(data()["experiment:" + id]);
            dataset.runs.forEach((run) => { rows[run.id] = { run: run, dataset: dataset }; });
          });
          const chosen = ids.filter((id) => rows[id]);
          renderComparison(chosen.map((id) => rows[id]));
          drawComparedParams(chosen.map((id) => rows[id]));
          const section = document.getElementById("compare-histories");
          section.hidden = false;
          return drawHistories(section.querySelector(".chart"), chosen);
        })
        .catch((error) => console.error(error));
    }
  }

  // Numbers as every table shows them: four significant digits, the full value on hover.
  function compact(value) {
    if (typeof value !== "number") return String(value);
    return Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value);
  }

  // The experiment's parallel coordinates and scatters, for the compared runs alone, when
  // they all come from one experiment (another's fields are other columns).
  function drawComparedParams(items) {
    const section = document.getElementById("compare-params");
    if (!section || !items.length || items.some((item) => item.dataset !== items[0].dataset)) return;
    const specs = items[0].dataset.charts || {};
    const colors = distinctColors(items.map((item) => item.run.color));
    const rows = items.map((item, index) => Object.assign(chartRow(item.run), { color: colors[index] }));
    section.querySelectorAll("[data-compare-chart]").forEach((element) => {
      const chart = specs[element.dataset.compareChart];
      element.closest("figure").hidden = !chart;
      if (chart) {
        section.hidden = false;
        embed(element, JSON.parse(JSON.stringify(chart)), { runs: rows }).catch((error) => console.error(error));
      }
    });
  }

  function renderComparison(items) {
    document.getElementById("compare-hint").hidden = true;
    comparison.hidden = false;
    const head = comparison.createTHead().insertRow();
    head.appendChild(document.createElement("th"));
    const colors = distinctColors(items.map((item) => item.run.color));
    items.forEach((item, index) => {
      const cell = document.createElement("th");
      cell.style.setProperty("--run-color", colors[index]);
      const dot = document.createElement("span");
      dot.className = "dot";
      cell.appendChild(dot);
      const link = document.createElement("a");
      link.href = root + "runs/" + item.run.id + ".html";
      link.textContent = item.run.run;
      cell.appendChild(link);
      head.appendChild(cell);
    });
    const body = comparison.createTBody();
    const names = [];
    items.forEach((item) => {
      item.dataset.metrics.forEach((name) => { if (!names.includes("metrics." + name)) names.push("metrics." + name); });
    });
    items.forEach((item) => {
      item.dataset.params.forEach((name) => { if (!names.includes("params." + name)) names.push("params." + name); });
    });
    names.forEach((name) => {
      const kind = name.startsWith("params.") ? "params" : "metrics";
      const values = items.map((item) => {
        const index = item.dataset[kind].indexOf(name.slice(kind.length + 1));
        const value = index < 0 ? undefined : item.run[(kind === "params" ? "p" : "m") + index];
        return value === undefined || value === null ? null : value;
      });
      if (values.every((value) => value === null)) return;  // no compared run has it
      const texts = values.map((value) => (value === null ? "" : String(value)));
      const differs = new Set(texts).size > 1;
      const row = body.insertRow();
      row.dataset.differs = differs ? "1" : "";
      const label = document.createElement("th");
      label.textContent = (differs ? "≠ " : "") + name;
      row.appendChild(label);
      // What is worth a look: in the primary metric (the one whose direction is known,
      // the same in every compared run's experiment), the best value once two runs have
      // one; in other metrics (counts, times...) nothing is judged; elsewhere, a value
      // unlike the others' common one. Nothing when every value is its own.
      const marked = new Set();
      const judged = items.every((item) =>
        "metrics." + item.dataset.metric === name && item.dataset.goal === items[0].dataset.goal);
      if (differs && kind === "metrics") {
        const numbers = values.filter((value) => typeof value === "number" && Number.isFinite(value));
        const pick = items[0].dataset.goal === "maximize" ? Math.max : Math.min;
        const best = judged && numbers.length >= 2 ? pick(...numbers) : null;
        values.forEach((value, index) => { if (best !== null && value === best) marked.add(index); });
      } else if (differs) {
        const counts = new Map();  // values are the runs' own text ("constructor")
        texts.forEach((text) => { counts.set(text, (counts.get(text) || 0) + 1); });
        const common = Array.from(counts.keys()).sort((a, b) => counts.get(b) - counts.get(a))[0];
        if (counts.get(common) > 1) texts.forEach((text, index) => { if (text !== common) marked.add(index); });
      }
      values.forEach((value, index) => {
        const cell = row.insertCell();
        cell.textContent = value === null ? "" : compact(value);
        if (typeof value === "number") { cell.title = String(value); cell.className = "num"; }
        if (marked.has(index)) cell.classList.add(kind === "metrics" ? "best-value" : "odd-value");
      });
    });
    const only = document.getElementById("differences-only");
    document.getElementById("differences-only-label").hidden = false;
    only.addEventListener("change", () => {
      Array.from(body.rows).forEach((row) => { row.hidden = only.checked && !row.dataset.differs; });
    });
  }

  if (runsTable) setUpRunsTable(); else drawSharedCharts();

  // Times shown in the reader's zone.
  document.querySelectorAll("[data-time]").forEach((cell) => {
    const ms = Number(cell.dataset.time);
    if (ms) cell.textContent = new Date(ms).toLocaleString();
  });
})();
