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

  function embed(element, chart, datasets) {
    chart.datasets = Object.assign({}, chart.datasets || {}, datasets);
    return window.vegaEmbed(element, chart, { actions: false, renderer: "canvas" }).then((result) => {
      if (element.gitrunsView) element.gitrunsView.finalize();
      element.gitrunsView = result.view;  // the drawn chart, for whoever reads its data
      element.gitrunsSpec = chart;
      return result;
    });
  }

  function runColors() {
    const colors = {};
    Object.keys(data()).filter((key) => key.startsWith("experiment:")).forEach((key) => {
      data()[key].runs.forEach((run) => { colors[run.id] = run.color; });
    });
    return colors;
  }

  function historyRows(ids) {
    const rows = [];
    const colors = runColors();
    ids.forEach((id) => {
      const history = data()["history:" + id];
      if (!history || hiddenFromCharts.has(id)) return;
      Object.entries(history.metrics).forEach(([metric, points]) => {
        points.forEach(([step, value]) => {
          if (value !== null) rows.push({ run: history.run, metric: metric, step: step, value: value, color: colors[id] || "#4e79a7" });
        });
      });
    });
    return rows;
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
      .then(() => embed(element, chart, { histories: historyRows(ids) }));
  }

  // Charts over an experiment's shared data file: the runs the table shows, less those
  // whose eye is closed.
  function drawSharedCharts() {
    document.querySelectorAll("[data-spec]").forEach((element) => {
      const dataset = data()[element.dataset.dataset] || { runs: [] };
      embed(element, spec(element.dataset.spec), { runs: chartedRuns(dataset.runs) })
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

  // Sorting: click a header; numbers sort as numbers, empty cells last. Child runs stay
  // under their parent, sorted among themselves.
  document.querySelectorAll("table.grid th[data-sort]").forEach((header) => {
    header.addEventListener("click", () => {
      const table = header.closest("table");
      const body = table.tBodies[0];
      const index = Array.from(header.parentNode.children).indexOf(header);
      const descending = header.getAttribute("aria-sort") === "ascending";
      table.querySelectorAll("th[aria-sort]").forEach((other) => other.removeAttribute("aria-sort"));
      header.setAttribute("aria-sort", descending ? "descending" : "ascending");
      const key = (row) => {
        const cell = row.children[index];
        const raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
        const number = parseFloat(raw);
        return { empty: raw === "", number: Number.isNaN(number) ? null : number, text: raw.toLowerCase() };
      };
      const compareRows = (a, b) => {
        if (a.key.empty !== b.key.empty) return a.key.empty ? 1 : -1;
        let order;
        if (a.key.number !== null && b.key.number !== null) order = a.key.number - b.key.number;
        else order = a.key.text < b.key.text ? -1 : a.key.text > b.key.text ? 1 : 0;
        return descending ? -order : order;
      };
      const rows = Array.from(body.rows).map((row) => ({ row: row, key: key(row) }));
      const present = new Set(rows.map((item) => item.row.dataset.id));
      const children = {};
      const roots = [];
      rows.forEach((item) => {
        const parent = item.row.dataset.parent;
        if (parent && present.has(parent)) (children[parent] = children[parent] || []).push(item);
        else roots.push(item);
      });
      const place = (items) => items.sort(compareRows).forEach((item) => {
        body.appendChild(item.row);
        place(children[item.row.dataset.id] || []);
      });
      place(roots);
    });
  });

  // The runs table as a tree: a parent's children open under it.
  const runsTable = document.getElementById("runs");
  function childRows(id) {
    return runsTable ? Array.from(runsTable.tBodies[0].rows).filter((row) => row.dataset.parent === id) : [];
  }
  function setOpen(row, open) {
    const toggle = row.querySelector("button.toggle");
    if (!toggle) return;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    toggle.textContent = (open ? "▾ " : "▸ ") + toggle.textContent.slice(2);
    childRows(row.dataset.id).forEach((child) => {
      child.dataset.folded = open ? "" : "1";
      if (!open) setOpen(child, false);
    });
    applyFilter();
  }
  document.querySelectorAll("#runs button.toggle").forEach((toggle) => {
    toggle.addEventListener("click", () => {
      const row = toggle.closest("tr");
      setOpen(row, toggle.getAttribute("aria-expanded") !== "true");
    });
  });
  if (runsTable) {
    Array.from(runsTable.tBodies[0].rows).forEach((row) => { if (row.dataset.parent) row.dataset.folded = "1"; });
  }
  const expandAll = document.getElementById("expand-all");
  if (expandAll) {
    expandAll.addEventListener("click", () => {
      const open = expandAll.textContent === "Expand all";
      Array.from(runsTable.tBodies[0].rows).forEach((row) => setOpen(row, open));
      expandAll.textContent = open ? "Collapse all" : "Expand all";
    });
  }

  // Filtering: MLflow's search grammar (window.gitrunsFilter), or words in any cell.
  const filterInput = document.getElementById("run-filter");
  const filterError = document.getElementById("filter-error");
  let filterMatch = null;  // id -> true when the filter is on
  function experimentData() {
    const table = document.querySelector("[data-dataset]");
    const name = table ? table.dataset.dataset : null;
    const found = Object.keys(data()).filter((key) => key.startsWith("experiment:"));
    return data()[name || found[0]] || { runs: [], params: [], metrics: [] };
  }
  function runRecord(dataset, run) {
    const params = {}, metrics = {};
    const raw = run.raw || {};
    dataset.params.forEach((key, index) => {
      const value = run["p" + index];
      if (value !== null && value !== undefined) params[key] = ("p" + index) in raw ? raw["p" + index] : String(value);
    });
    dataset.metrics.forEach((key, index) => { const value = run["m" + index]; if (value !== null && value !== undefined) metrics[key] = value; });
    return {
      id: run.id, name: run.name, status: run.status, start: run.start, end: run.end, user: run.user,
      experiment: run.experiment, lifecycle_stage: "active", parent: run.parent_run || null,
      params: params, metrics: metrics, tags: run.tags || {},
    };
  }
  function applyFilter() {
    if (!runsTable) return;
    const rows = Array.from(runsTable.tBodies[0].rows);
    const byId = {};
    rows.forEach((row) => { byId[row.dataset.id] = row; });
    if (filterMatch === null) {
      rows.forEach((row) => { row.hidden = row.dataset.folded === "1"; });
    } else {
      const shown = new Set();
      rows.forEach((row) => {
        if (!filterMatch[row.dataset.id]) return;
        let current = row;
        while (current && !shown.has(current.dataset.id)) {  // a match shows its ancestors
          shown.add(current.dataset.id);
          current = current.dataset.parent ? byId[current.dataset.parent] : null;
        }
      });
      rows.forEach((row) => { row.hidden = !shown.has(row.dataset.id); });
    }
    redrawCharts();
  }
  if (filterInput) {
    filterInput.addEventListener("input", () => {
      const text = filterInput.value.trim();
      filterError.hidden = true;
      filterInput.removeAttribute("aria-invalid");
      if (!text) { filterMatch = null; applyFilter(); return; }
      let predicate;
      if (window.gitrunsFilter.looksLikeFilter(text)) {
        try {
          predicate = window.gitrunsFilter.parse(text);
        } catch (error) {
          filterError.textContent = error.message;
          filterError.hidden = false;
          filterInput.setAttribute("aria-invalid", "true");
          return;
        }
        const dataset = experimentData();
        filterMatch = {};
        dataset.runs.forEach((run) => { filterMatch[run.id] = predicate(runRecord(dataset, run)); });
      } else {
        const words = text.toLowerCase().split(/\s+/).filter(Boolean);
        filterMatch = {};
        Array.from(runsTable.tBodies[0].rows).forEach((row) => {
          const cells = row.textContent.toLowerCase();
          filterMatch[row.dataset.id] = words.every((word) => cells.includes(word));
        });
      }
      applyFilter();
    });
  }

  // Choosing columns, and finding one among many.
  document.querySelectorAll("input[data-column]").forEach((box) => {
    box.addEventListener("change", () => {
      document.querySelectorAll('[data-col="' + box.dataset.column + '"]').forEach((cell) => {
        cell.hidden = !box.checked;
      });
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

  // The eye: a run hidden from the charts stays in the table.
  document.querySelectorAll("#runs button.eye").forEach((eye) => {
    eye.addEventListener("click", () => {
      const id = eye.closest("tr").dataset.id;
      const shown = eye.getAttribute("aria-pressed") !== "true";
      eye.setAttribute("aria-pressed", shown ? "true" : "false");
      eye.title = shown ? "Shown in the charts: click to hide" : "Hidden from the charts: click to show";
      if (shown) hiddenFromCharts.delete(id); else hiddenFromCharts.add(id);
      redrawCharts();
    });
  });
  function chartedRuns(runs) {
    if (!runsTable) return runs;
    const visible = new Set(Array.from(runsTable.tBodies[0].rows)
      .filter((row) => filterMatch === null || !row.hidden).map((row) => row.dataset.id));
    return runs.filter((run) => visible.has(run.id) && !hiddenFromCharts.has(run.id));
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
  const picks = Array.from(document.querySelectorAll("input.pick"));
  function picked() {
    return picks.filter((box) => box.checked).map((box) => box.value);
  }
  picks.forEach((box) => box.addEventListener("change", () => {
    const ids = picked();
    if (compare) compare.disabled = ids.length < 2;
    if (selectedHistories && ids.length) drawHistories(selectedHistories, ids).catch((error) => console.error(error));
  }));
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
      Promise.all(experiments.map((id) => loadScript(root + "data/experiments/" + id + ".js")))
        .then(() => {
          const rows = {};
          experiments.forEach((id) => {
            const dataset = data()["experiment:" + id];
            dataset.runs.forEach((run) => { rows[run.id] = { run: run, dataset: dataset }; });
          });
          const chosen = ids.filter((id) => rows[id]);
          renderComparison(chosen.map((id) => rows[id]));
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

  function renderComparison(items) {
    document.getElementById("compare-hint").hidden = true;
    comparison.hidden = false;
    const head = comparison.createTHead().insertRow();
    head.appendChild(document.createElement("th"));
    items.forEach((item) => {
      const cell = document.createElement("th");
      cell.style.setProperty("--run-color", item.run.color || "#999");
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
      // What is worth a look: in a metric, the best value; elsewhere, a value unlike the
      // others' common one. Nothing when every value is its own.
      const marked = new Set();
      if (differs && kind === "metrics") {
        const numbers = values.filter((value) => typeof value === "number" && Number.isFinite(value));
        const pick = items[0].dataset.goal === "maximize" ? Math.max : Math.min;
        const best = numbers.length ? pick(...numbers) : null;
        values.forEach((value, index) => { if (value === best) marked.add(index); });
      } else if (differs) {
        const counts = {};
        texts.forEach((text) => { counts[text] = (counts[text] || 0) + 1; });
        const common = Object.keys(counts).sort((a, b) => counts[b] - counts[a])[0];
        if (counts[common] > 1) texts.forEach((text, index) => { if (text !== common) marked.add(index); });
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

  drawSharedCharts();

  // Times shown in the reader's zone.
  document.querySelectorAll("[data-time]").forEach((cell) => {
    const ms = Number(cell.dataset.time);
    if (ms) cell.textContent = new Date(ms).toLocaleString();
  });
})();
