/* Leaderboard page: the ranked models of a suite under a ranking policy
 * (weights, priority order, constraints) that re-ranks live, a
 * quality-vs-cost scatter with the Pareto front, and a latency chart. */
'use strict';

(function () {
  const DIMS = ['quality', 'cost', 'speed'];

  function parsePolicy(p) {
    const st = { mode: 'weighted', weights: { quality: 0.5, cost: 0.3, speed: 0.2 },
      order: ['quality', 'cost', 'speed'], tolerance: 0.02 };
    if (!p) return st;
    const [mode, rest] = p.split(':');
    st.mode = mode;
    if (mode === 'weighted' && rest) {
      for (const kv of rest.split(',')) {
        const [k, v] = kv.split('=');
        if (k in st.weights) st.weights[k] = Number(v);
      }
    } else if (mode === 'priority' && rest) {
      const parts = rest.split(/[,;]/);
      const tol = parts.find((x) => x.startsWith('tolerance='));
      if (tol) st.tolerance = Number(tol.slice(10));
      const order = parts.filter((x) => DIMS.includes(x));
      for (const d of DIMS) if (!order.includes(d)) order.push(d);
      st.order = order;
    }
    return st;
  }

  function policyString(st) {
    if (st.mode === 'weighted') {
      return 'weighted:' + DIMS.map((d) => `${d}=${st.weights[d]}`).join(',');
    }
    if (st.mode === 'priority') return `priority:${st.order.join(',')},tolerance=${st.tolerance}`;
    return 'pareto';
  }

  /* Non-dominated points: higher quality and lower cost are better. */
  function paretoFront(rows) {
    const pts = rows.filter((m) => m.quality !== null && m.cost_per_1k !== null);
    const front = pts.filter((a) => !pts.some((b) => b !== a &&
      b.quality >= a.quality && b.cost_per_1k <= a.cost_per_1k &&
      (b.quality > a.quality || b.cost_per_1k < a.cost_per_1k)));
    return front.sort((a, b) => a.cost_per_1k - b.cost_per_1k);
  }

  function rankTable(data) {
    const rows = data.models.map((m) => el('tr', { 'data-model': m.model },
      el('td', { class: 'num rank' }, m.rank),
      el('td', { class: 'model' }, el('a', { href: `#/runs/${m.run_id}` }, m.model)),
      el('td', { class: 'num' }, fmt(m.quality), el('span', { class: 'muted' },
        m.quality_ci_low !== undefined && m.quality_ci_low !== null
          ? ` [${fmt(m.quality_ci_low)}, ${fmt(m.quality_ci_high)}]` : '')),
      el('td', { class: 'num' }, m.cost_per_1k === null ? '–' : '$' + fmt(m.cost_per_1k, 4)),
      el('td', { class: 'num' }, fmt(m.p50_ms, 1)),
      el('td', { class: 'num' }, fmt(m.p95_ms, 1)),
      el('td', { class: 'num' }, fmt(m.tokens_per_s, 1)),
      el('td', { class: 'why' }, m.why || '')));
    const excluded = (data.excluded || []).map((m) => el('tr', { class: 'excluded', 'data-model': m.model },
      el('td', { class: 'num' }, '–'), el('td', {}, m.model), el('td', { colspan: 5 }, ''),
      el('td', { class: 'why' }, m.why || 'excluded')));
    return el('table', { id: 'leaderboard-table' },
      el('thead', {}, el('tr', {},
        el('th', { class: 'num' }, '#'), el('th', {}, 'model'),
        el('th', { class: 'num' }, `quality (${data.primary_metric || 'primary'}) [95% CI]`),
        el('th', { class: 'num' }, 'cost / 1k cases'), el('th', { class: 'num' }, 'p50 ms'),
        el('th', { class: 'num' }, 'p95 ms'), el('th', { class: 'num' }, 'tokens/s'),
        el('th', {}, 'why'))),
      el('tbody', {}, rows, excluded));
  }

  function charts(scatterBox, latencyBox, data) {
    destroyCharts();
    if (typeof Chart === 'undefined') return;
    const rows = data.models;
    const front = paretoFront(rows);
    const scatterCanvas = el('canvas', { id: 'scatter', 'aria-label': 'quality versus cost' });
    clear(scatterBox).append(scatterCanvas);
    assay.charts.push(new Chart(scatterCanvas, {
      type: 'scatter',
      data: {
        datasets: [
          { label: 'models', data: rows.map((m) => ({ x: m.cost_per_1k || 0, y: m.quality, model: m.model })),
            pointRadius: 6, backgroundColor: '#2457c5' },
          { label: 'Pareto front', data: front.map((m) => ({ x: m.cost_per_1k || 0, y: m.quality, model: m.model })),
            /* Drawn on top as rings, so a front point stays visible over its model's dot. */
            showLine: true, borderColor: '#b3261e', backgroundColor: 'rgba(0,0,0,0)', pointRadius: 9,
            pointBorderWidth: 2, order: -1 },
        ],
      },
      options: {
        maintainAspectRatio: false, animation: false,
        scales: { x: { title: { display: true, text: 'cost per 1,000 cases (USD)' } },
          y: { title: { display: true, text: 'quality' } } },
        plugins: { tooltip: { callbacks: { label: (c) => `${c.raw.model}: ${fmt(c.raw.y)} @ $${fmt(c.raw.x, 4)}` } } },
      },
    }));
    const latencyCanvas = el('canvas', { id: 'latency', 'aria-label': 'latency per model' });
    clear(latencyBox).append(latencyCanvas);
    assay.charts.push(new Chart(latencyCanvas, {
      type: 'bar',
      data: {
        labels: rows.map((m) => m.model),
        datasets: [
          { label: 'p50 ms', data: rows.map((m) => m.p50_ms), backgroundColor: '#8fb0ff' },
          { label: 'p95 ms', data: rows.map((m) => m.p95_ms), backgroundColor: '#2457c5' },
        ],
      },
      options: { maintainAspectRatio: false, animation: false,
        scales: { y: { title: { display: true, text: 'latency (ms)' } } } },
    }));
  }

  function controls(st, onChange) {
    const mode = el('select', { id: 'policy-mode' },
      ['weighted', 'priority', 'pareto'].map((m) => el('option', { value: m }, m)));
    mode.value = st.mode;
    const weights = el('span', { class: 'controls', id: 'weights' }, DIMS.map((d) => {
      const input = el('input', { type: 'number', min: 0, max: 1, step: 0.05, id: 'w-' + d,
        value: st.weights[d], size: 4 });
      input.addEventListener('change', () => { st.weights[d] = Number(input.value); onChange(); });
      return el('label', {}, d, input);
    }));
    const order = el('span', { class: 'controls', id: 'order' }, [0, 1, 2].map((i) => {
      const sel = el('select', { id: 'order-' + i }, DIMS.map((d) => el('option', { value: d }, d)));
      sel.value = st.order[i];
      sel.addEventListener('change', () => {
        const other = st.order.indexOf(sel.value);
        if (other >= 0 && other !== i) st.order[other] = st.order[i];
        st.order[i] = sel.value;
        for (let k = 0; k < 3; k++) document.getElementById('order-' + k).value = st.order[k];
        onChange();
      });
      return el('label', {}, `${i + 1}.`, sel);
    }));
    const tol = el('input', { type: 'number', id: 'tolerance', min: 0, max: 0.5, step: 0.01, value: st.tolerance, size: 4 });
    tol.addEventListener('change', () => { st.tolerance = Number(tol.value); onChange(); });
    const minQ = el('input', { type: 'number', id: 'min-quality', step: 0.05, size: 5 });
    const maxP95 = el('input', { type: 'number', id: 'max-p95', step: 50, size: 6 });
    const maxCost = el('input', { type: 'number', id: 'max-cost', step: 0.01, size: 6 });
    for (const i of [minQ, maxP95, maxCost]) i.addEventListener('change', onChange);
    const show = () => {
      weights.hidden = mode.value !== 'weighted';
      order.hidden = mode.value !== 'priority';
      tol.parentNode.hidden = mode.value !== 'priority';
    };
    mode.addEventListener('change', () => { st.mode = mode.value; show(); onChange(); });
    const box = el('div', { class: 'controls', id: 'policy' },
      el('label', {}, 'policy', mode), weights, order, el('label', {}, 'tolerance', tol),
      el('label', {}, 'quality ≥', minQ), el('label', {}, 'p95 ms ≤', maxP95),
      el('label', {}, 'cost/1k ≤', maxCost));
    show();
    box.require = () => {
      const parts = [];
      if (minQ.value !== '') parts.push(`quality>=${minQ.value}`);
      if (maxP95.value !== '') parts.push(`p95_ms<=${maxP95.value}`);
      if (maxCost.value !== '') parts.push(`cost<=${maxCost.value}`);
      return parts.join(',');
    };
    return box;
  }

  assay.pages.leaderboard = async function (main, r) {
    const suites = (await api('GET', '/suites?limit=1000')).suites;
    main.append(el('h1', {}, 'Leaderboard'));
    if (!suites.length) {
      main.append(el('p', { class: 'muted' }, 'No suites yet: add one to the catalog, or start with "assay serve --demo".'));
      return;
    }
    const suite = r.params.get('suite') || suites[0].name;
    const pick = el('select', { id: 'suite' }, suites.map((s) => el('option', { value: s.name }, s.name)));
    pick.value = suite;
    pick.addEventListener('change', () => go('#/leaderboard?suite=' + encodeURIComponent(pick.value)));
    const tableBox = el('div', { id: 'rank' });
    const policyText = el('code', { id: 'policy-string' });
    const scatterBox = el('div', { class: 'chart' });
    const latencyBox = el('div', { class: 'chart' });
    let first = await api('GET', '/leaderboard' + qs({ suite })).catch((e) => e);
    const st = parsePolicy(first instanceof Error ? null : first.policy);
    let seq = 0;
    const show = (data) => {
      clear(tableBox).append(rankTable(data));
      policyText.textContent = data.policy || '';
      charts(scatterBox, latencyBox, data);
    };
    const update = async () => {
      const mine = ++seq;
      try {
        const data = await api('GET', '/leaderboard' + qs({ suite, policy: policyString(st), require: box.require() }));
        if (mine === seq) show(data);
      } catch (e) {
        if (mine === seq) clear(tableBox).append(el('p', { class: 'error' }, e.message));
      }
    };
    const box = controls(st, update);
    main.append(el('div', { class: 'card' },
      el('div', { class: 'controls' }, el('label', {}, 'suite', pick),
        el('a', { href: `#/runs?suite=${encodeURIComponent(suite)}` }, 'runs'),
        el('a', { href: `#/catalog/suites/${encodeURIComponent(suite)}` }, 'suite definition')),
      box, el('p', { class: 'muted' }, 'ranking by ', policyText)),
    el('div', { class: 'card' }, tableBox),
    el('div', { class: 'row' },
      el('div', { class: 'grow card' }, el('h2', {}, 'Quality vs cost (Pareto front in red)'), scatterBox),
      el('div', { class: 'grow card' }, el('h2', {}, 'Latency'), latencyBox)));
    if (first instanceof Error) clear(tableBox).append(el('p', { class: 'muted' }, first.message));
    else show(first);
  };
})();
