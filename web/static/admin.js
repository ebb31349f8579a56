/* Models page (list; editors add and remove) and Users page (admins: add
 * a user and see the token once, issue tokens, remove). */
'use strict';

(function () {
  assay.pages.models = async function (main) {
    const data = await api('GET', '/models');
    main.append(el('h1', {}, 'Models'));
    const rows = data.models.map((m) => el('tr', { 'data-model': m.name },
      el('td', {}, m.name), el('td', {}, m.provider),
      el('td', {}, el('pre', { class: 'text' }, JSON.stringify(m.settings || {}))),
      el('td', { class: 'num' }, fmt(m.price_in, 2)), el('td', { class: 'num' }, fmt(m.price_out, 2)),
      el('td', { class: 'num' }, fmt(m.price_hour, 2)), el('td', { class: 'num' }, m.concurrency),
      el('td', {}, can('edit') ? el('button', { type: 'button', class: 'secondary', onclick: async () => {
        try { await api('DELETE', `/models/${encodeURIComponent(m.name)}`); render(); } catch (e) { toast(e.message); }
      } }, 'Remove') : null)));
    main.append(el('div', { class: 'card' }, el('table', { id: 'models-table' },
      el('thead', {}, el('tr', {}, ['name', 'provider', 'settings', '$/1M in', '$/1M out', '$/hour', 'concurrency', '']
        .map((h) => el('th', {}, h)))),
      el('tbody', {}, rows))));
    if (!can('edit')) return;
    const area = el('textarea', { id: 'model-json', rows: 6 });
    area.value = '{"name": "my-endpoint", "provider": "openai", "settings": {"base_url": "http://127.0.0.1:8000/v1", "model_id": "my-model"}, "price_in": 0.5, "price_out": 1.5}';
    const status = el('p', { class: 'muted' });
    main.append(el('div', { class: 'card' }, el('h2', {}, 'Add a model'),
      el('p', { class: 'muted' }, 'Secrets are never stored: name the environment variable that holds a key.'),
      area, el('button', { type: 'button', id: 'model-add', onclick: async () => {
        try {
          await api('POST', '/models', JSON.parse(area.value));
          render();
        } catch (e) { status.textContent = e.message; }
      } }, 'Add'), status));
  };

  assay.pages.users = async function (main) {
    main.append(el('h1', {}, 'Users'));
    if (!can('admin')) {
      main.append(el('p', { class: 'error' }, 'Only admins manage users.'));
      return;
    }
    const data = await api('GET', '/users');
    const shown = el('p', { id: 'new-token', class: 'output', hidden: true });
    const showToken = (res) => {
      shown.hidden = false;
      shown.textContent = `Token for ${res.name} (shown once): ${res.token}`;
    };
    const rows = data.users.map((u) => el('tr', { 'data-user': u.name },
      el('td', {}, u.name), el('td', {}, u.role), el('td', { class: 'num' }, u.tokens),
      el('td', { class: 'muted' }, (u.created_at || '').replace('T', ' ').slice(0, 16)),
      el('td', {},
        el('button', { type: 'button', class: 'secondary', onclick: async () => {
          try { showToken(await api('POST', `/users/${encodeURIComponent(u.name)}/tokens`)); } catch (e) { toast(e.message); }
        } }, 'New token'), ' ',
        u.name === assay.user.name ? null : el('button', { type: 'button', class: 'secondary', onclick: async () => {
          try { await api('DELETE', `/users/${encodeURIComponent(u.name)}`); render(); } catch (e) { toast(e.message); }
        } }, 'Remove'))));
    const name = el('input', { type: 'text', id: 'user-name', placeholder: 'name' });
    const role = el('select', { id: 'user-role' }, ['viewer', 'rater', 'editor', 'admin'].map((r) => el('option', { value: r }, r)));
    main.append(el('div', { class: 'card' }, el('table', { id: 'users-table' },
      el('thead', {}, el('tr', {}, ['name', 'role', 'tokens', 'created', ''].map((h) => el('th', {}, h)))),
      el('tbody', {}, rows))),
    el('div', { class: 'card' }, el('h2', {}, 'Add a user'),
      el('div', { class: 'controls' }, name, role, el('button', { type: 'button', id: 'user-add', onclick: async () => {
        try { showToken(await api('POST', '/users', { name: name.value, role: role.value })); } catch (e) { toast(e.message); }
      } }, 'Add')), shown));
  };
})();
