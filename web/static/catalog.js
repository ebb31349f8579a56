/* Catalog page: prompts (versions, labels, diff between versions, edit and
 * save), datasets (cases with paging), suites. */
'use strict';

(function () {
  const KINDS = { prompts: 'Prompts', datasets: 'Datasets', suites: 'Suites' };

  function tabs(kind) {
    return el('div', { class: 'tabs' }, Object.entries(KINDS).map(([k, label]) =>
      el('a', { href: '#/catalog/' + k, class: k === kind ? 'active' : '' }, label)));
  }

  function labelPills(labels) {
    return (labels || []).map((l) => el('span', { class: 'pill', title: 'v' + l.version },
      `${l.label} → v${l.version}`));
  }

  async function list(main, kind, r) {
    const offset = Number(r.params.get('offset') || 0);
    const limit = 50;
    const data = await api('GET', `/${kind}` + qs({ offset, limit }));
    const rows = data[kind].map((it) => el('tr', {},
      el('td', {}, el('a', { href: `#/catalog/${kind}/${encodeURIComponent(it.name)}` }, it.name)),
      el('td', { class: 'num' }, 'v' + it.versions),
      el('td', {}, labelPills(it.labels)),
      el('td', {}, (it.tags || []).map((t) => el('span', { class: 'pill' }, t))),
      el('td', { class: 'muted' }, it.latest.author),
      el('td', { class: 'muted' }, new Date(it.latest.time * 1000).toISOString().slice(0, 16).replace('T', ' '))));
    main.append(el('div', { class: 'card' },
      el('table', { id: 'catalog-list' },
        el('thead', {}, el('tr', {}, ['name', 'newest', 'labels', 'tags', 'author', 'when'].map((h) => el('th', {}, h)))),
        el('tbody', {}, rows)),
      pager(offset, limit, data[kind].length, (o) => go(`#/catalog/${kind}?offset=${o}`))));
    if (kind === 'prompts' && can('edit')) {
      main.append(el('div', { class: 'card' }, el('h2', {}, 'New prompt'),
        editor(null, '{\n  "name": "my-prompt",\n  "task": "generation",\n  "template": "{{input}}"\n}\n')));
    }
  }

  function diffView(text) {
    if (!text) return el('p', { class: 'muted' }, 'The two versions are the same.');
    return el('div', { class: 'diff output' }, text.split('\n').map((line) => {
      let cls = '';
      if (line.startsWith('+') && !line.startsWith('+++')) cls = 'add';
      else if (line.startsWith('-') && !line.startsWith('---')) cls = 'del';
      else if (line.startsWith('@@')) cls = 'hunk';
      return el('pre', { class: cls }, line);
    }));
  }

  /* The JSON editor: save makes a commit with the user as author. */
  function editor(name, text) {
    const area = el('textarea', { class: 'code', id: 'prompt-editor', spellcheck: 'false' });
    area.value = text;
    const msg = el('input', { type: 'text', id: 'commit-message', placeholder: 'commit message', size: 50 });
    const status = el('p', { class: 'muted', id: 'save-status' });
    const save = el('button', { type: 'button', id: 'save-prompt' }, 'Save (commit)');
    save.addEventListener('click', async () => {
      let doc;
      try { doc = JSON.parse(area.value); } catch (e) {
        status.textContent = 'Not valid JSON: ' + e.message;
        return;
      }
      try {
        const path = name ? `/prompts/${encodeURIComponent(name)}` : '/prompts';
        const res = await api(name ? 'PUT' : 'POST', path + qs({ message: msg.value }), doc);
        const v = res.version;
        status.textContent = res.changed ? `Saved as v${v.version} (${v.commit.slice(0, 10)})` : 'No change.';
        if (res.changed) toast(`${v.name} v${v.version} committed`);
        if (!name) go(`#/catalog/prompts/${encodeURIComponent(v.name)}`);
      } catch (e) {
        status.textContent = e.message;
      }
    });
    return el('div', {}, area, el('div', { class: 'controls' }, msg, save), status);
  }

  async function prompt(main, name, r) {
    const ref = r.params.get('ref') || '';
    const [p, vs] = await Promise.all([
      api('GET', `/prompts/${encodeURIComponent(name)}` + qs({ ref })),
      api('GET', `/prompts/${encodeURIComponent(name)}/versions`)]);
    main.append(el('h1', {}, `Prompt ${name} `, el('span', { class: 'muted' }, 'v' + p.version.version)),
      el('p', {}, labelPills(p.labels)));
    const versions = vs.versions;
    const vrows = versions.map((v) => el('tr', {},
      el('td', {}, el('a', { href: `#/catalog/prompts/${encodeURIComponent(name)}?ref=v${v.version}` }, 'v' + v.version)),
      el('td', { class: 'muted' }, v.commit.slice(0, 10)),
      el('td', {}, v.message), el('td', { class: 'muted' }, v.author)));
    const from = el('select', { id: 'diff-from' }, versions.map((v) => el('option', { value: 'v' + v.version }, 'v' + v.version)));
    const to = el('select', { id: 'diff-to' }, versions.map((v) => el('option', { value: 'v' + v.version }, 'v' + v.version)));
    if (versions.length > 1) from.value = 'v' + versions[1].version;
    const diffOut = el('div', { id: 'diff-out' });
    const showDiff = async () => {
      try {
        const d = await api('GET', `/prompts/${encodeURIComponent(name)}/diff` + qs({ from: from.value, to: to.value }));
        clear(diffOut).append(diffView(d.diff));
      } catch (e) { clear(diffOut).append(el('p', { class: 'error' }, e.message)); }
    };
    from.addEventListener('change', showDiff);
    to.addEventListener('change', showDiff);
    const left = el('div', { class: 'grow' },
      el('div', { class: 'card' }, el('h2', {}, 'Versions'),
        el('table', {}, el('tbody', {}, vrows))),
      el('div', { class: 'card' }, el('h2', {}, 'Diff'),
        el('div', { class: 'controls' }, el('label', {}, 'from', from), el('label', {}, 'to', to)), diffOut));
    const right = el('div', { class: 'grow' });
    if (can('edit')) {
      right.append(el('div', { class: 'card' }, el('h2', {}, 'Edit'), editor(name, p.text)));
      const label = el('input', { type: 'text', id: 'label-name', placeholder: 'production' });
      const lv = el('select', { id: 'label-version' }, versions.map((v) => el('option', { value: 'v' + v.version }, 'v' + v.version)));
      right.append(el('div', { class: 'card' }, el('h2', {}, 'Labels'),
        el('div', { class: 'controls' }, label, lv,
          el('button', { type: 'button', onclick: async () => {
            try {
              await api('POST', `/prompts/${encodeURIComponent(name)}/labels`, { label: label.value, ref: lv.value });
              toast('label set');
              render();
            } catch (e) { toast(e.message); }
          } }, 'Set label'))));
    } else {
      right.append(el('div', { class: 'card' }, el('h2', {}, 'Document'), el('pre', { class: 'text' }, p.text)));
    }
    main.append(el('div', { class: 'row' }, left, right));
    if (versions.length > 1) showDiff();
  }

  async function dataset(main, name, r) {
    const offset = Number(r.params.get('offset') || 0);
    const limit = 25;
    const d = await api('GET', `/datasets/${encodeURIComponent(name)}` + qs({ offset, limit, ref: r.params.get('ref') }));
    main.append(el('h1', {}, `Dataset ${name} `, el('span', { class: 'muted' }, `v${d.version.version}, ${d.total} cases`)),
      el('p', {}, labelPills(d.labels)));
    const rows = d.cases.map((c) => el('tr', {},
      el('td', {}, c.id),
      el('td', {}, el('pre', { class: 'text' }, JSON.stringify(c.vars, null, 1))),
      el('td', {}, c.expected === null ? el('span', { class: 'muted' }, '(unlabelled)') : el('pre', { class: 'text' }, c.expected)),
      el('td', {}, (c.tags || []).map((t) => el('span', { class: 'pill' }, t)))));
    main.append(el('div', { class: 'card' },
      el('table', { id: 'cases' }, el('thead', {}, el('tr', {}, ['id', 'vars', 'expected', 'tags'].map((h) => el('th', {}, h)))),
        el('tbody', {}, rows)),
      pager(offset, limit, d.cases.length, (o) => go(`#/catalog/datasets/${encodeURIComponent(name)}?offset=${o}`))));
  }

  async function suite(main, name) {
    const s = await api('GET', `/suites/${encodeURIComponent(name)}`);
    main.append(el('h1', {}, `Suite ${name} `, el('span', { class: 'muted' }, 'v' + s.version.version)),
      el('p', {}, el('a', { href: `#/leaderboard?suite=${encodeURIComponent(name)}` }, 'Leaderboard'), ' · ',
        el('a', { href: `#/runs?suite=${encodeURIComponent(name)}` }, 'Runs')),
      el('div', { class: 'card' }, el('pre', { class: 'text' }, s.text)));
  }

  assay.pages.catalog = async function (main, r) {
    const kind = KINDS[r.parts[1]] ? r.parts[1] : 'prompts';
    main.append(el('h1', {}, 'Catalog'), tabs(kind));
    const name = r.parts.slice(2).join('/');
    if (!name) return list(main, kind, r);
    if (kind === 'prompts') return prompt(main, name, r);
    if (kind === 'datasets') return dataset(main, name, r);
    return suite(main, name);
  };
})();
