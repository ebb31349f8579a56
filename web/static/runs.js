/* Runs pages: the list (filters, start a run, select runs to compare or
 * diff), one run (summary, per-case items with filters), several runs'
 * outputs side by side, and the diff of two runs of one suite. */
'use strict';

(function () {
  function statusPill(s, inProgress) {
    return el('span', { class: 'pill ' + s }, inProgress && s === 'running' ? 'running…' : s);
  }

  function primary(summary) {
    const q = summary.quality || (summary.metrics || {})[summary.primary_metric];
    return q ? q.mean : null;
  }

  function scoresText(scores) {
    if (!scores) return '';
    return Object.entries(scores).map(([k, v]) => `${k} ${fmt(v)}`).join(' · ');
  }

  function judgeBlock(item) {
    if (!item || (item.judge_score === null && !item.judge_error) || item.judge_score === undefined) return null;
    return el('div', { class: 'muted judge' }, `judge: ${item.judge_score === null ? 'error' : item.judge_score}`,
      item.judge_rationale ? el('div', { class: 'why' }, item.judge_rationale) : null,
      item.judge_error ? el('div', { class: 'bad' }, item.judge_error) : null);
  }

  function itemCell(item) {
    if (!item) return el('td', { class: 'muted' }, '(no item)');
    return el('td', {},
      el('div', { class: 'output' }, item.output === null || item.output === undefined ? '' : item.output),
      el('div', { class: 'muted' }, item.status === 'failed' ? '' : scoresText(item.scores),
        item.label ? ` · label ${item.label}` : '', item.out_of_labels ? ' · outside the label set' : ''),
      item.error ? el('div', { class: 'bad' }, item.error) : null,
      item.embedding_error ? el('div', { class: 'bad' }, item.embedding_error) : null,
      judgeBlock(item));
  }

  async function startForm(box) {
    const suites = (await api('GET', '/suites?limit=1000')).suites;
    const suite = el('select', { id: 'run-suite' }, suites.map((s) => el('option', { value: s.name }, s.name)));
    const models = el('input', { type: 'text', id: 'run-models', placeholder: 'models (comma-separated; empty: the suite\'s)', size: 40 });
    const limit = el('input', { type: 'number', id: 'run-limit', min: 0, placeholder: 'limit', size: 6 });
    const btn = el('button', { type: 'button', id: 'run-start' }, 'Start run');
    btn.addEventListener('click', async () => {
      const body = { suite: suite.value };
      const ms = models.value.split(',').map((s) => s.trim()).filter(Boolean);
      if (ms.length) body.models = ms;
      if (limit.value) body.limit = Number(limit.value);
      try {
        const res = await api('POST', '/runs', body);
        toast('started run ' + res.runs.join(', '));
        render();
      } catch (e) { toast(e.message); }
    });
    box.append(el('div', { class: 'card' }, el('h2', {}, 'Start a run'),
      el('div', { class: 'controls' }, suite, models, limit, btn)));
  }

  async function list(main, r) {
    const p = r.params;
    const offset = Number(p.get('offset') || 0);
    const limit = 50;
    const filters = { suite: p.get('suite') || '', model: p.get('model') || '', status: p.get('status') || '' };
    const data = await api('GET', '/runs' + qs({ ...filters, offset, limit }));
    main.append(el('h1', {}, 'Runs'));
    const suite = el('input', { type: 'text', id: 'f-suite', value: filters.suite, placeholder: 'suite' });
    const model = el('input', { type: 'text', id: 'f-model', value: filters.model, placeholder: 'model' });
    const status = el('select', { id: 'f-status' }, ['', 'running', 'complete', 'partial', 'failed', 'canceled']
      .map((s) => el('option', { value: s }, s || 'any status')));
    status.value = filters.status;
    const apply = () => go('#/runs' + qs({ suite: suite.value, model: model.value, status: status.value }));
    for (const i of [suite, model, status]) i.addEventListener('change', apply);
    const selected = new Set();
    const compare = el('button', { type: 'button', id: 'compare', class: 'secondary', disabled: true,
      onclick: () => go('#/compare?ids=' + [...selected].join(',')) }, 'Outputs side by side');
    const diff = el('button', { type: 'button', id: 'diff', class: 'secondary', disabled: true,
      onclick: () => { const [a, b] = [...selected]; go(`#/diff?a=${a}&b=${b}`); } }, 'Diff two runs');
    const rows = data.runs.map((s) => {
      const box = el('input', { type: 'checkbox', 'aria-label': 'select run ' + s.id });
      box.addEventListener('change', () => {
        if (box.checked) selected.add(s.id); else selected.delete(s.id);
        compare.disabled = selected.size < 2;
        diff.disabled = selected.size !== 2;
      });
      return el('tr', { 'data-run': s.id },
        el('td', {}, box),
        el('td', { class: 'num' }, el('a', { href: `#/runs/${s.id}` }, s.id)),
        el('td', {}, s.suite), el('td', {}, s.model), el('td', {}, statusPill(s.status, s.in_progress)),
        el('td', { class: 'num' }, `${s.items_done}/${s.items_total}`),
        el('td', { class: 'num' }, fmt(primary(s))),
        el('td', { class: 'num' }, s.cost_usd === undefined ? '–' : '$' + fmt(s.cost_usd, 4)),
        el('td', { class: 'num' }, fmt(s.latency_ms && s.latency_ms.p50, 1)),
        el('td', { class: 'muted' }, (s.created_at || '').replace('T', ' ').slice(0, 16)));
    });
    main.append(el('div', { class: 'card' },
      el('div', { class: 'controls' }, suite, model, status, compare, diff),
      el('table', { id: 'runs-table' },
        el('thead', {}, el('tr', {}, ['', 'run', 'suite', 'model', 'status', 'items', 'quality', 'cost', 'p50 ms', 'created']
          .map((h) => el('th', {}, h)))),
        el('tbody', {}, rows)),
      pager(offset, limit, data.runs.length, (o) => go('#/runs' + qs({ ...filters, offset: o })))));
    if (can('edit')) await startForm(main);
    if (data.runs.some((s) => s.in_progress)) {
      const again = location.hash;
      setTimeout(() => { if (location.hash === again) render(); }, 2000);
    }
  }

  function summaryCard(s) {
    const metrics = Object.entries(s.metrics || {}).map(([k, m]) => el('tr', {},
      el('td', {}, k + (k === s.primary_metric ? ' (primary)' : '')),
      el('td', { class: 'num' }, fmt(m.mean)),
      el('td', { class: 'num muted' }, `[${fmt(m.ci_low)}, ${fmt(m.ci_high)}]`)));
    const lat = s.latency_ms || {};
    return el('div', { class: 'card' },
      el('div', { class: 'row' },
        el('div', { class: 'grow' },
          el('p', {}, statusPill(s.status, s.in_progress), ` ${s.items_done}/${s.items_total} items, ${s.items_failed || 0} failed`),
          el('p', { class: 'muted' }, `prompt ${s.prompt ? s.prompt.name + ' v' + s.prompt.version : ''} · dataset ${s.dataset ? s.dataset.name + ' v' + s.dataset.version : ''}`),
          el('p', {}, `cost $${fmt(s.cost_usd, 4)} · per 1k $${fmt(s.cost_per_1k, 4)} · latency p50 ${fmt(lat.p50, 1)} / p95 ${fmt(lat.p95, 1)} / p99 ${fmt(lat.p99, 1)} ms · ${fmt(s.output_tokens_per_s, 1)} tokens/s`),
          streamed(s),
          scorers(s),
          s.error ? el('p', { class: 'bad' }, s.error) : null),
        el('div', { class: 'grow' }, el('table', {}, el('tbody', {}, metrics)))));
  }

  /* The models that scored the run besides the metrics: the judge and the
     embedding model of cosine_embedding, with their errors and cost. */
  function scorers(s) {
    const parts = [];
    if (s.judge) parts.push(`judge ${s.judge.model}: ${s.judge.errors} errors, $${fmt(s.judge.cost_usd, 4)}`);
    if (s.embedding) {
      parts.push(`embedding ${s.embedding.model}: ${s.embedding.errors} errors, ` +
        `${s.embedding.cached} cached, $${fmt(s.embedding.cost_usd, 4)}`);
    }
    return parts.length ? el('p', { class: 'muted scorers' }, parts.join(' · ')) : null;
  }

  /* Time to first token and per output token, for runs whose answers timed them. */
  function streamed(s) {
    const t = s.ttft_ms || {}, p = s.per_token_ms || {};
    if (t.p50 == null) return null;
    return el('p', { class: 'muted' }, `first token p50 ${fmt(t.p50, 1)} / p95 ${fmt(t.p95, 1)} ms` +
      (p.p50 == null ? '' : ` · per token p50 ${fmt(p.p50, 2)} / p95 ${fmt(p.p95, 2)} ms`));
  }

  async function detail(main, id, r) {
    const p = r.params;
    const offset = Number(p.get('offset') || 0);
    const filter = p.get('filter') || 'all';
    const limit = 25;
    const [s, items] = await Promise.all([
      api('GET', `/runs/${id}`),
      api('GET', `/runs/${id}/items` + qs({ offset, limit, filter: filter === 'all' ? '' : filter }))]);
    main.append(el('h1', {}, `Run ${s.id}: ${s.suite} · ${s.model}`));
    const actions = el('div', { class: 'controls' },
      el('a', { href: `#/leaderboard?suite=${encodeURIComponent(s.suite)}` }, 'leaderboard'),
      can('rate') ? el('a', { href: `#/rating?run=${s.id}` }, 'rate this run') : null);
    if (s.in_progress && can('edit')) {
      actions.append(el('button', { type: 'button', id: 'cancel-run', onclick: async () => {
        try { await api('POST', `/runs/${id}/cancel`); toast('canceling'); } catch (e) { toast(e.message); }
      } }, 'Cancel'));
    }
    main.append(actions, summaryCard(s));
    const fsel = el('select', { id: 'item-filter' }, ['all', 'failures', 'lowest', 'disagreements']
      .map((f) => el('option', { value: f }, f)));
    fsel.value = filter;
    fsel.addEventListener('change', () => go(`#/runs/${id}` + qs({ filter: fsel.value })));
    const rows = items.items.map((it) => el('tr', { 'data-item': it.id },
      el('td', {}, it.case_id), el('td', {}, statusPill(it.status)),
      itemCell(it),
      el('td', {}, it.expected === null || it.expected === undefined ? el('span', { class: 'muted' }, '–') : el('pre', { class: 'text' }, it.expected)),
      el('td', { class: 'num' }, fmt(it.latency_ms, 1))));
    main.append(el('div', { class: 'card' },
      el('div', { class: 'controls' }, el('label', {}, 'show', fsel),
        items.matched !== undefined ? el('span', { class: 'muted' }, `${items.matched} items match`) : null),
      el('table', { id: 'items-table' },
        el('thead', {}, el('tr', {}, ['case', 'status', 'output', 'reference', 'ms'].map((h) => el('th', {}, h)))),
        el('tbody', {}, rows)),
      pager(offset, limit, items.items.length, (o) => go(`#/runs/${id}` + qs({ filter, offset: o })))));
    if (s.in_progress) {
      const again = location.hash;
      setTimeout(() => { if (location.hash === again) render(); }, 2000);
    }
  }

  assay.pages.runs = async function (main, r) {
    if (r.parts[1]) return detail(main, r.parts[1], r);
    return list(main, r);
  };

  assay.pages.compare = async function (main, r) {
    const ids = r.params.get('ids') || '';
    const offset = Number(r.params.get('offset') || 0);
    const filter = r.params.get('filter') || 'all';
    const limit = 20;
    const data = await api('GET', '/compare' + qs({ ids, offset, limit, filter: filter === 'all' ? '' : filter }));
    main.append(el('h1', {}, `Outputs side by side: ${data.runs[0].suite}`));
    const fsel = el('select', { id: 'compare-filter' }, ['all', 'failures', 'lowest', 'disagreements']
      .map((f) => el('option', { value: f }, f)));
    fsel.value = filter;
    fsel.addEventListener('change', () => go('#/compare' + qs({ ids, filter: fsel.value })));
    const head = el('tr', {}, el('th', {}, 'case'), el('th', {}, 'reference'),
      data.runs.map((s) => el('th', {}, el('a', { href: `#/runs/${s.id}` }, `${s.model} (run ${s.id})`))));
    const rows = data.rows.map((row) => el('tr', {},
      el('td', {}, row.case_id),
      el('td', {}, row.expected === null ? el('span', { class: 'muted' }, '–') : el('pre', { class: 'text' }, row.expected)),
      row.cells.map((c) => itemCell(c))));
    main.append(el('div', { class: 'card' },
      el('div', { class: 'controls' }, el('label', {}, 'show', fsel), el('span', { class: 'muted' }, `${data.matched} cases`)),
      el('table', { id: 'compare-table' }, el('thead', {}, head), el('tbody', {}, rows)),
      pager(offset, limit, data.rows.length, (o) => go('#/compare' + qs({ ids, filter, offset: o })))));
  };

  assay.pages.diff = async function (main, r) {
    const a = r.params.get('a');
    const b = r.params.get('b');
    const offset = Number(r.params.get('offset') || 0);
    const limit = 25;
    const d = await api('GET', `/runs/${encodeURIComponent(a)}/diff/${encodeURIComponent(b)}` + qs({ offset, limit }));
    main.append(el('h1', {}, `Diff: run ${d.a.id} (${d.a.model}) → run ${d.b.id} (${d.b.model})`),
      el('div', { class: 'card' }, el('p', {},
        `${d.metric}: `, el('span', { class: 'good' }, `${d.counts.improved} improved`), ', ',
        el('span', { class: 'bad' }, `${d.counts.regressed} regressed`), `, ${d.counts.unchanged} unchanged; `,
        `${d.counts.outputs_changed} outputs changed; ${d.counts.unmatched} cases in one run only.`),
      el('p', { class: 'muted' }, `mean ${fmt(primary(d.a))} → ${fmt(primary(d.b))}`)));
    const rows = d.changes.map((c) => el('tr', {},
      el('td', {}, c.case_id),
      el('td', { class: 'num ' + (c.delta > 0 ? 'good' : c.delta < 0 ? 'bad' : '') }, (c.delta > 0 ? '+' : '') + fmt(c.delta)),
      itemCell(c.a), itemCell(c.b),
      el('td', {}, c.expected === null ? '–' : el('pre', { class: 'text' }, c.expected))));
    main.append(el('div', { class: 'card' },
      el('table', { id: 'diff-table' }, el('thead', {}, el('tr', {}, ['case', 'Δ', `run ${d.a.id}`, `run ${d.b.id}`, 'reference'].map((h) => el('th', {}, h)))),
        el('tbody', {}, rows)),
      pager(offset, limit, d.changes.length, (o) => go('#/diff' + qs({ a, b, offset: o })))));
  };
})();
