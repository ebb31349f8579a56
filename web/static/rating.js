/* Rating pages: queues (built from runs or a suite's newest runs with a
 * sampling rate and a seed), the keyboard-first rating screen (blind:
 * no model names; 1-9 and 0 for 10, Enter to submit, S to skip; pairwise:
 * A, B or T), and results with "promote to dataset". */
'use strict';

(function () {
  function varsBlock(input) {
    return Object.entries(input || {}).map(([k, v]) => el('div', {},
      el('div', { class: 'muted' }, k),
      el('div', { class: 'output' }, typeof v === 'string' ? v : JSON.stringify(v))));
  }

  async function queues(main, r) {
    if (r.params.get('run')) {
      const next = await api('GET', '/rating/next' + qs({ run: r.params.get('run') }));
      go(`#/rating/q/${next.queue.id}`);
      return;
    }
    main.append(el('h1', {}, 'Rating'));
    const data = await api('GET', '/rating/queues');
    const rows = data.queues.map((q) => el('tr', { 'data-queue': q.id },
      el('td', { class: 'num' }, q.id),
      el('td', {}, el('a', { href: `#/rating/q/${q.id}` }, q.name)),
      el('td', {}, q.mode), el('td', {}, q.suite), el('td', {}, q.runs.join(', ')),
      el('td', { class: 'num' }, fmt(q.rate * 100, 0) + '%'), el('td', { class: 'num' }, q.seed),
      el('td', { class: 'num' }, q.raters_per_item),
      el('td', { class: 'num' }, q.mode === 'pairwise' ? q.votes : q.ratings),
      el('td', {}, el('a', { href: `#/rating/q/${q.id}/results` }, 'results'))));
    main.append(el('div', { class: 'card' }, el('table', { id: 'queues' },
      el('thead', {}, el('tr', {}, ['id', 'queue', 'mode', 'suite', 'runs', 'sample', 'seed', 'raters/item', 'done', '']
        .map((h) => el('th', {}, h)))),
      el('tbody', {}, rows))));
    if (!can('edit')) return;
    const suites = (await api('GET', '/suites?limit=1000')).suites;
    const name = el('input', { type: 'text', id: 'q-name', placeholder: 'name' });
    const mode = el('select', { id: 'q-mode' }, ['single', 'pairwise'].map((m) => el('option', { value: m }, m)));
    const suite = el('select', { id: 'q-suite' }, el('option', { value: '' }, '(runs below)'),
      suites.map((s) => el('option', { value: s.name }, s.name)));
    const runs = el('input', { type: 'text', id: 'q-runs', placeholder: 'run ids, comma-separated', size: 18 });
    const rate = el('input', { type: 'number', id: 'q-rate', min: 0.01, max: 1, step: 0.05, value: 1, size: 4 });
    const seed = el('input', { type: 'number', id: 'q-seed', value: 0, size: 6 });
    const raters = el('input', { type: 'number', id: 'q-raters', min: 1, max: 100, value: 1, size: 3 });
    const create = el('button', { type: 'button', id: 'q-create' }, 'Create queue');
    create.addEventListener('click', async () => {
      const body = { name: name.value, mode: mode.value, rate: Number(rate.value), seed: Number(seed.value),
        raters_per_item: Number(raters.value) };
      const ids = runs.value.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
      if (ids.length) body.runs = ids; else body.suite = suite.value;
      try {
        const q = await api('POST', '/rating/queues', body);
        go(`#/rating/q/${q.id}`);
      } catch (e) { toast(e.message); }
    });
    main.append(el('div', { class: 'card' }, el('h2', {}, 'New queue'),
      el('div', { class: 'controls' }, name, el('label', {}, 'mode', mode), el('label', {}, 'suite', suite), runs,
        el('label', {}, 'sample', rate), el('label', {}, 'seed', seed), el('label', {}, 'raters per item', raters), create)));
  }

  /* The rating screen. Keys are ignored while typing feedback, except
   * Ctrl+Enter (submit) and Escape (leave the text box). */
  async function rate(main, id) {
    const next = await api('GET', '/rating/next' + qs({ queue: id }));
    const q = next.queue;
    main.append(el('h1', {}, `Rating: ${q.name}`),
      el('p', { class: 'muted', id: 'rating-progress' },
        `${next.progress.yours} of ${next.progress.sample} sampled ${q.mode === 'pairwise' ? 'cases' : 'items'} done by you · `,
        el('a', { href: `#/rating/q/${q.id}/results` }, 'results')));
    if (next.done) {
      main.append(el('div', { class: 'card', id: 'rating-done' }, 'Nothing left for you in this queue.'));
      return;
    }
    if (!can('rate')) {
      main.append(el('p', { class: 'error' }, 'Your role may not rate.'));
      return;
    }
    const it = next.item;
    const feedback = el('textarea', { id: 'feedback', rows: 3, placeholder: 'feedback (optional)' });
    const status = el('p', { class: 'muted', id: 'rating-status' });
    let choice = null;
    let busy = false;
    const box = el('div', { class: 'card rate-box', id: 'rating-item', 'data-case': it.case_id },
      el('h2', {}, 'Input'), varsBlock(it.input),
      it.reference !== undefined && it.reference !== null
        ? el('div', {}, el('h2', {}, 'Reference'), el('div', { class: 'output', id: 'reference' }, it.reference)) : null);
    const skip = async () => {
      if (busy) return;
      busy = true;
      try {
        await api('POST', '/rating/skip', q.mode === 'pairwise' ? { queue: q.id, case_id: it.case_id } : { queue: q.id, item_id: it.item_id });
        render();
      } catch (e) { status.textContent = e.message; busy = false; }
    };
    let submit;
    let buttons;
    if (q.mode === 'pairwise') {
      const sides = { a: 'left', b: 'right', t: 'tie' };
      buttons = el('div', { class: 'score-buttons' }, Object.entries(sides).map(([k, v]) =>
        el('button', { type: 'button', 'data-choice': v, onclick: () => pick(v) }, `${k.toUpperCase()}: ${v === 'tie' ? 'tie' : v === 'left' ? 'A is better' : 'B is better'}`)));
      box.append(el('div', { class: 'side' },
        el('div', {}, el('h2', {}, 'A'), el('div', { class: 'output', id: 'output-left' }, it.left.output)),
        el('div', {}, el('h2', {}, 'B'), el('div', { class: 'output', id: 'output-right' }, it.right.output))));
      submit = async () => {
        if (busy || !choice) { status.textContent = 'Choose A, B or T first.'; return; }
        busy = true;
        try {
          await api('POST', '/votes', { queue: q.id, case_id: it.case_id, left_item: it.left.item_id,
            right_item: it.right.item_id, winner: choice });
          render();
        } catch (e) { status.textContent = e.message; busy = false; }
      };
    } else {
      buttons = el('div', { class: 'score-buttons' }, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((n) =>
        el('button', { type: 'button', 'data-choice': n, onclick: () => pick(n) }, String(n))));
      box.append(el('h2', {}, 'Output'), el('div', { class: 'output', id: 'output' }, it.output));
      submit = async () => {
        if (busy || !choice) { status.textContent = 'Choose a score first (1-9, 0 for 10).'; return; }
        busy = true;
        try {
          await api('POST', '/ratings', { queue: q.id, item_id: it.item_id, score: choice, feedback: feedback.value });
          render();
        } catch (e) { status.textContent = e.message; busy = false; }
      };
    }
    function pick(v) {
      choice = v;
      for (const b of buttons.children) b.classList.toggle('chosen', b.dataset.choice === String(v));
      status.textContent = `chosen: ${v}`;
    }
    box.append(buttons, feedback,
      el('div', { class: 'controls' },
        el('button', { type: 'button', id: 'submit', onclick: submit }, 'Submit (Enter)'),
        el('button', { type: 'button', class: 'secondary', id: 'skip', onclick: skip }, 'Skip (S)')),
      status,
      el('p', { class: 'rate-keys' }, q.mode === 'pairwise'
        ? 'Keys: A / B / T choose, Enter submits, S skips.'
        : 'Keys: 1–9 and 0 (=10) score, Enter submits, S skips. In the feedback box: Ctrl+Enter submits, Esc leaves it.'));
    main.append(box);
    if (!main.isConnected) return;
    assay.onKey = (ev) => {
      const typing = ev.target === feedback;
      if (typing) {
        if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); submit(); }
        else if (ev.key === 'Escape') feedback.blur();
        return;
      }
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      const k = ev.key.toLowerCase();
      if (q.mode === 'pairwise' && (k === 'a' || k === 'b' || k === 't')) {
        pick({ a: 'left', b: 'right', t: 'tie' }[k]);
      } else if (q.mode !== 'pairwise' && /^[0-9]$/.test(k)) {
        pick(k === '0' ? 10 : Number(k));
      } else if (k === 'enter') {
        ev.preventDefault();
        submit();
      } else if (k === 's') {
        skip();
      } else {
        return;
      }
      ev.preventDefault();
    };
  }

  async function results(main, id) {
    const res = await api('GET', '/rating/results' + qs({ queue: id }));
    const q = res.queue;
    main.append(el('h1', {}, `Results: ${q.name}`),
      el('p', {}, el('a', { href: `#/rating/q/${q.id}` }, 'back to rating')));
    if (q.mode === 'pairwise') {
      main.append(el('div', { class: 'card' }, el('h2', {}, 'Bradley–Terry (Elo scale, 95% bootstrap interval)'),
        el('table', { id: 'bt-table' }, el('thead', {}, el('tr', {}, ['model', 'wins', 'score', 'interval'].map((h) => el('th', {}, h)))),
          el('tbody', {}, (res.bradley_terry || []).map((m) => el('tr', {}, el('td', {}, m.model),
            el('td', { class: 'num' }, m.wins), el('td', { class: 'num' }, fmt(m.score, 1)),
            el('td', { class: 'num muted' }, `[${fmt(m.ci_low, 1)}, ${fmt(m.ci_high, 1)}]`))))),
        el('p', { class: 'muted' }, `${res.votes} votes, ${res.ties} ties`)));
      return;
    }
    const ag = res.agreement || {};
    main.append(el('div', { class: 'card' }, el('h2', {}, 'Human score per model (1–10, 95% bootstrap interval)'),
      el('table', { id: 'human-table' }, el('thead', {}, el('tr', {}, ['model', 'ratings', 'mean', 'interval'].map((h) => el('th', {}, h)))),
        el('tbody', {}, (res.models || []).map((m) => el('tr', {}, el('td', {}, m.model),
          el('td', { class: 'num' }, m.n), el('td', { class: 'num' }, fmt(m.mean, 2)),
          el('td', { class: 'num muted' }, `[${fmt(m.ci_low, 2)}, ${fmt(m.ci_high, 2)}]`))))),
      el('p', {}, `Agreement: ${ag.raters} raters on ${ag.items} items`,
        ag.cohen_kappa !== undefined ? ` · Cohen's κ ${fmt(ag.cohen_kappa)} (${ag.items_both} items rated by both)` : '',
        ag.krippendorff_alpha !== undefined ? ` · Krippendorff's α (interval) ${fmt(ag.krippendorff_alpha)}` : ''),
      el('p', {}, `LLM judge vs humans: Spearman ρ ${fmt(res.judge_human && res.judge_human.spearman)} over ${res.judge_human ? res.judge_human.n : 0} items`)));
    const ratings = (await api('GET', '/ratings' + qs({ queue: q.id, limit: 1000 }))).ratings;
    const chosen = new Set();
    const rows = ratings.map((ra) => {
      const box = el('input', { type: 'checkbox', 'aria-label': 'select rating ' + ra.id });
      box.addEventListener('change', () => { if (box.checked) chosen.add(ra.id); else chosen.delete(ra.id); });
      return el('tr', { 'data-rating': ra.id }, el('td', {}, can('edit') ? box : null),
        el('td', { class: 'num' }, ra.id), el('td', {}, ra.case_id), el('td', {}, ra.model),
        el('td', {}, ra.rater), el('td', { class: 'num' }, ra.score), el('td', {}, ra.feedback || ''),
        el('td', { class: 'muted' }, (ra.created_at || '').replace('T', ' ').slice(0, 19)));
    });
    const card = el('div', { class: 'card' }, el('h2', {}, 'Ratings'),
      el('table', { id: 'ratings-table' }, el('thead', {}, el('tr', {}, ['', 'id', 'case', 'model', 'rater', 'score', 'feedback', 'when'].map((h) => el('th', {}, h)))),
        el('tbody', {}, rows)));
    if (can('edit')) {
      const ds = el('input', { type: 'text', id: 'promote-dataset', placeholder: 'dataset name' });
      const kind = el('select', { id: 'promote-kind' }, el('option', { value: 'good' }, 'good examples (output becomes the expected answer)'),
        el('option', { value: 'bad' }, 'bad examples (output kept as rejected_output)'));
      const btn = el('button', { type: 'button', id: 'promote' }, 'Promote to dataset');
      btn.addEventListener('click', async () => {
        try {
          const res2 = await api('POST', '/promotions', { dataset: ds.value, kind: kind.value, ratings: [...chosen] });
          toast(`${res2.cases} cases added to ${res2.dataset} v${res2.version}`);
        } catch (e) { toast(e.message); }
      });
      card.append(el('div', { class: 'controls' }, ds, kind, btn));
    }
    main.append(card);
  }

  assay.pages.rating = async function (main, r) {
    if (r.parts[1] === 'q' && r.parts[2]) {
      if (r.parts[3] === 'results') return results(main, r.parts[2]);
      return rate(main, r.parts[2]);
    }
    return queues(main, r);
  };
})();
