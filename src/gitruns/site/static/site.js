// gitruns site: charts, sortable and filterable tables, run selection, comparison.
// User data reaches the page only through textContent and Vega datasets, never as markup.
(function () {
  "use strict";
  const root = document.body.dataset.root || "";
  const data = () => (window.GITRUNS = window.GITRUNS || {});
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
    return window.vegaEmbed(element, chart, { actions: false, renderer: "canvas" });
  }

  function historyRows(ids) {
    const rows = [];
    ids.forEach((id) => {
      const history = data()["history:" + id];
      if (!history) return;
      Object.entries(history.metrics).forEach(([metric, points]) => {
        points.forEach(([step, value]) => {
          if (value !== null) rows.push({ run: history.run, metric: metric, step: step, value: value });
        });
      });
    });
    return rows;
  }

  function drawHistories(element, ids) {
    const chart = spec(element.dataset.histories);
    ids = ids.filter((id) => RUN_ID.test(id));
    return Promise.all(ids.map((id) => data()["history:" + id] ? null : loadScript(root + "data/runs/" + id + ".js")))
      .then(() => embed(element, chart, { histories: historyRows(ids) }));
  }

  // Charts over an experiment's shared data file.
  document.querySelectorAll("[data-spec]").forEach((element) => {
    const dataset = data()[element.dataset.dataset] || { runs: [] };
    embed(element, spec(element.dataset.spec), { runs: dataset.runs }).catch((error) => console.error(error));
  });
  // A run page's own histories.
  document.querySelectorAll("[data-run-histories]").forEach((element) => {
    drawHistories(element, [element.dataset.runHistories]).catch((error) => console.error(error));
  });

  // Sorting: click a header; numbers sort as numbers, empty cells last.
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
      const rows = Array.from(body.rows).map((row) => ({ row: row, key: key(row) }));
      rows.sort((a, b) => {
        if (a.key.empty !== b.key.empty) return a.key.empty ? 1 : -1;
        let order;
        if (a.key.number !== null && b.key.number !== null) order = a.key.number - b.key.number;
        else order = a.key.text < b.key.text ? -1 : a.key.text > b.key.text ? 1 : 0;
        return descending ? -order : order;
      });
      rows.forEach((item) => body.appendChild(item.row));
    });
  });

  // Filtering: rows whose text contains every word typed.
  document.querySelectorAll("input[data-filter-for]").forEach((input) => {
    const table = document.getElementById(input.dataset.filterFor);
    input.addEventListener("input", () => {
      const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      Array.from(table.tBodies[0].rows).forEach((row) => {
        const text = row.textContent.toLowerCase();
        row.hidden = !words.every((word) => text.includes(word));
      });
    });
  });

  // Choosing columns.
  document.querySelectorAll("input[data-column]").forEach((box) => {
    box.addEventListener("change", () => {
      document.querySelectorAll('[data-col="' + box.dataset.column + '"]').forEach((cell) => {
        cell.hidden = !box.checked;
      });
    });
  });

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

  function renderComparison(items) {
    document.getElementById("compare-hint").hidden = true;
    comparison.hidden = false;
    const head = comparison.createTHead().insertRow();
    head.appendChild(document.createElement("th"));
    items.forEach((item) => {
      const cell = document.createElement("th");
      const link = document.createElement("a");
      link.href = root + "runs/" + item.run.id + ".html";
      link.textContent = item.run.run;
      cell.appendChild(link);
      head.appendChild(cell);
    });
    const body = comparison.createTBody();
    const fields = [];
    items.forEach((item) => {
      item.dataset.params.forEach((name, index) => fields.push(["params." + name, "p" + index, item]));
      item.dataset.metrics.forEach((name, index) => fields.push(["metrics." + name, "m" + index, item]));
    });
    const names = Array.from(new Set(fields.map((field) => field[0])));
    names.forEach((name) => {
      const values = items.map((item) => {
        const kind = name.startsWith("params.") ? "params" : "metrics";
        const index = item.dataset[kind].indexOf(name.slice(kind.length + 1));
        const value = index < 0 ? undefined : item.run[(kind === "params" ? "p" : "m") + index];
        return value === undefined || value === null ? "" : String(value);
      });
      if (values.every((value) => value === "")) return;  // no compared run has it
      const row = body.insertRow();
      if (new Set(values).size > 1) row.className = "differs";
      const label = document.createElement("th");
      label.textContent = (new Set(values).size > 1 ? "≠ " : "") + name;
      row.appendChild(label);
      values.forEach((value) => { row.insertCell().textContent = value; });
    });
  }

  // Times shown in the reader's zone.
  document.querySelectorAll("[data-time]").forEach((cell) => {
    const ms = Number(cell.dataset.time);
    if (ms) cell.textContent = new Date(ms).toLocaleString();
  });
})();
