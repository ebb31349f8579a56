// Browser tests of the dashboard: Debian's chromium (headless) driven by
// playwright-core against the real server on 127.0.0.1. Log in, see the
// models ranked, change the policy and see the order change, rate three
// items with the keyboard and find the ratings stored, see a hostile model
// output and a hostile embedding error shown as text. Exits 77 (skipped) when chromium or
// playwright-core (tests/setup.sh) is missing.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const CHROMIUM = '/usr/bin/chromium';
const MODULES = path.join(__dirname, '..', '.cache', 'web', 'node_modules');
let chromium;
try {
  ({ chromium } = require(path.join(MODULES, 'playwright-core')));
} catch (e) {
  console.log('skip: playwright-core is not installed (run tests/setup.sh)');
  process.exit(77);
}
if (!fs.existsSync(CHROMIUM)) {
  console.log('skip: no ' + CHROMIUM + ' (apt-get install chromium)');
  process.exit(77);
}

const ASSAY = process.env.ASSAY_BIN || 'build/assay';
const SOURCE = process.env.ASSAY_SOURCE_DIR || path.join(__dirname, '..', '..');
const HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

function check(cond, msg) {
  if (!cond) throw new Error('check failed: ' + msg);
}

function startServer(data) {
  return new Promise((resolve, reject) => {
    const proc = spawn(ASSAY, ['--data', data, 'serve', '--port', '0', '--demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let token = null;
    const timer = setTimeout(() => reject(new Error('server did not start: ' + out)), 240000);
    proc.stdout.on('data', (d) => {
      out += d;
      const t = out.match(/admin token .*: (as_[0-9a-f]+)/);
      if (t) token = t[1];
      const m = out.match(/serving on http:\/\/127\.0\.0\.1:(\d+)\//);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, port: Number(m[1]), token });
      }
    });
    proc.stderr.on('data', () => {});
    proc.on('exit', (code) => reject(new Error('server exited ' + code + ': ' + out)));
  });
}

async function api(srv, method, p, body, token) {
  const res = await fetch(`http://127.0.0.1:${srv.port}/api/v1${p}`, {
    method,
    headers: { Authorization: 'Bearer ' + (token || srv.token), 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

async function waitRuns(srv, ids) {
  for (let i = 0; i < 600; i++) {
    const all = await Promise.all(ids.map((id) => api(srv, 'GET', `/runs/${id}`)));
    if (all.every((s) => !s.in_progress && s.status !== 'running')) return all;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('runs did not finish');
}

function jsonl(file, rows) {
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return file;
}

function demoCases(name) {
  return fs.readFileSync(path.join(SOURCE, 'demo', 'datasets', name + '.jsonl'), 'utf8')
    .split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// An OpenAI-compatible embedding server on 127.0.0.1: vectors of letter
// counts, and a 400 whose message is hostile HTML for answers of
// 'negative' cases. Resolves to { server, url }.
function embeddingServer() {
  const vec = (t) => Array.from('abcdefghijklmnopqrstuvwxyz', (ch) => t.toLowerCase().split(ch).length - 1);
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const input = JSON.parse(body).input;
      const bad = input[1] === 'negative';
      const out = bad ? { error: { message: HOSTILE, type: 'invalid_request_error' } }
        : { object: 'list', data: input.map((t, i) => ({ object: 'embedding', index: i, embedding: vec(t) })),
          usage: { prompt_tokens: input.length, total_tokens: input.length } };
      res.writeHead(bad ? 400 : 200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(out));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () =>
    resolve({ server, url: `http://127.0.0.1:${server.address().port}/v1` })));
}

// A fresh browser with its own new profile directory.
async function launch(profiles) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'assay-chromium-'));
  profiles.push(dir);
  return chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

async function login(ctx, srv, token, errors) {
  const page = await ctx.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`http://127.0.0.1:${srv.port}/`);
  await page.fill('#token', token);
  await page.press('#token', 'Enter');
  await page.waitForSelector('#whoami:not(:empty)');
  return page;
}

// Poll fn(arg) in the page until it is true (page.waitForFunction would
// evaluate a string, which the page's Content-Security-Policy forbids).
async function waitFor(page, fn, arg) {
  for (let i = 0; i < 300; i++) {
    if (await page.evaluate(fn, arg)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting for ' + fn.toString().slice(0, 200));
}

async function rankedModels(page) {
  return page.$$eval('#leaderboard-table tbody tr:not(.excluded)', (rows) =>
    rows.map((r) => [r.querySelector('.rank').textContent, r.dataset.model]));
}

async function main() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'assay-browser-'));
  const srv = await startServer(path.join(root, 'data'));
  const profiles = [];
  const browsers = [];
  const errors = [];
  let emb = null;
  try {
    // A replay model whose outputs are the reference summaries: the best
    // quality, but slow and priced; and a hostile one on the sentiment suite.
    const news = demoCases('news');
    jsonl(path.join(root, 'premium.jsonl'), news.map((c) => ({ id: c.id, output: c.expected,
      latency_ms: 900, prompt_tokens: 200, completion_tokens: 30 })));
    jsonl(path.join(root, 'hostile.jsonl'), demoCases('reviews').map((c) => ({ id: c.id, output: HOSTILE + ' positive' })));
    await api(srv, 'POST', '/models', { name: 'premium', provider: 'replay', price_in: 5, price_out: 15,
      settings: { file: path.join(root, 'premium.jsonl') } });
    await api(srv, 'POST', '/models', { name: 'hostile', provider: 'replay', settings: { file: path.join(root, 'hostile.jsonl') } });
    // The sentiment suite also scored by an embedding model whose errors
    // quote hostile HTML.
    emb = await embeddingServer();
    await api(srv, 'POST', '/models', { name: 'emb', provider: 'openai', settings: { base_url: emb.url, model_id: 'e' } });
    const sentiment = (await api(srv, 'GET', '/suites/sentiment')).doc;
    sentiment.metrics.push({ name: 'cosine_embedding', model: 'emb' });
    await api(srv, 'PUT', '/suites/sentiment?message=embeddings', sentiment);
    const premium = (await api(srv, 'POST', '/runs', { suite: 'news-summary', models: ['premium'] })).runs;
    const hostile = (await api(srv, 'POST', '/runs', { suite: 'sentiment', models: ['hostile'], limit: 5 })).runs;
    await waitRuns(srv, premium.concat(hostile));
    const hs = await api(srv, 'GET', `/runs/${hostile[0]}`);
    check(hs.embedding && hs.embedding.errors > 0 && hs.metrics.cosine_embedding.n + hs.embedding.errors === 5,
      'embedding scores and errors: ' + JSON.stringify(hs.embedding));
    const raterToken = (await api(srv, 'POST', '/users', { name: 'browser-rater', role: 'rater' })).token;
    const runs = (await api(srv, 'GET', '/runs?suite=news-summary')).runs;
    const lead1 = runs.find((r) => r.model === 'lead-1-article').id;

    browsers.push(await launch(profiles));
    // 1. Log in; the leaderboard shows the models ranked.
    const page = await login(browsers[0], srv, srv.token, errors);
    await page.goto(`http://127.0.0.1:${srv.port}/#/leaderboard?suite=news-summary`);
    await page.waitForSelector('#leaderboard-table tbody tr[data-model="premium"]');
    const before = await rankedModels(page);
    check(before.length === 4, 'four models ranked: ' + JSON.stringify(before));
    check(before.map((r) => r[0]).join() === '1,2,3,4', 'ranks 1-4: ' + JSON.stringify(before));
    check(before[0][1] === 'premium', 'quality-weighted policy puts premium first: ' + JSON.stringify(before));
    check(await page.$$eval('canvas', (c) => c.length) === 2, 'scatter and latency charts drawn');
    console.log('ok   leaderboard shows the models ranked', JSON.stringify(before.map((r) => r[1])));

    // 2. Cost first: the free baselines overtake the priced model.
    await page.selectOption('#policy-mode', 'priority');
    await page.selectOption('#order-0', 'cost');
    await waitFor(page, () => {
      const first = document.querySelector('#leaderboard-table tbody tr');
      return first && first.dataset.model !== 'premium' &&
        document.getElementById('policy-string').textContent.startsWith('priority:cost');
    });
    const after = await rankedModels(page);
    check(after[after.length - 1][1] === 'premium', 'premium last when cost comes first: ' + JSON.stringify(after));
    console.log('ok   changing the policy re-ranks', JSON.stringify(after.map((r) => r[1])));

    // 3. A hostile output is shown as text, never run.
    await page.goto(`http://127.0.0.1:${srv.port}/#/runs/${hostile[0]}`);
    await page.waitForSelector('#items-table tbody tr');
    const shown = await page.$$eval('#items-table .output', (els) => els.map((e) => e.textContent));
    check(shown.length === 5 && shown.every((t) => t.includes(HOSTILE)), 'hostile text shown verbatim');
    check(await page.evaluate(() => window.__pwned) === undefined, 'no script ran');
    check(await page.$$eval('#items-table img, #items-table script', (e) => e.length) === 0, 'no element injected');
    const embErrors = await page.$$eval('#items-table .bad', (els) => els.map((e) => e.textContent));
    check(embErrors.length === hs.embedding.errors && embErrors.every((t) => t.includes('embedding call failed') && t.includes(HOSTILE)),
      'embedding errors shown as text: ' + JSON.stringify(embErrors));
    const scorers = await page.textContent('.scorers');
    check(scorers.includes(`embedding emb: ${hs.embedding.errors} errors, ${hs.embedding.cached} cached`), 'scorers line: ' + scorers);
    check(await page.$$eval('img, script:not([src])', (e) => e.length) === 0 && await page.evaluate(() => window.__pwned) === undefined,
      'no element injected anywhere');
    console.log('ok   a hostile output and a hostile embedding error are shown as text');

    // 4. A rater rates three items with the keyboard.
    browsers.push(await launch(profiles));
    const rp = await login(browsers[1], srv, raterToken, errors);
    await rp.goto(`http://127.0.0.1:${srv.port}/#/rating?run=${lead1}`);
    const keys = [['7', 7], ['0', 10], ['3', 3]];
    let last = null;
    const cases = [];
    for (const [key] of keys) {
      await waitFor(rp, (prev) => {
        const it = document.getElementById('rating-item');
        return it && it.dataset.case !== prev;
      }, last);
      last = await rp.$eval('#rating-item', (e) => e.dataset.case);
      check(!(await rp.textContent('#rating-item')).includes('lead-1-article'), 'blind: no model name');
      cases.push(last);
      await rp.keyboard.press(key);
      await rp.keyboard.press('Enter');
    }
    await waitFor(rp, (prev) => {
      const it = document.getElementById('rating-item');
      return it && it.dataset.case !== prev;
    }, last);
    const queue = Number((await rp.evaluate(() => location.hash)).match(/rating\/q\/(\d+)/)[1]);
    const stored = (await api(srv, 'GET', `/ratings?queue=${queue}`)).ratings;
    check(stored.length === 3, 'three ratings stored: ' + JSON.stringify(stored));
    check(JSON.stringify(stored.map((r) => r.score)) === JSON.stringify(keys.map((k) => k[1])), 'scores 7, 10, 3');
    check(stored.every((r) => r.rater === 'browser-rater' && r.model === 'lead-1-article'), 'rater and model stored');
    check(JSON.stringify(stored.map((r) => r.case_id)) === JSON.stringify(cases), 'the items shown');
    console.log('ok   three items rated with the keyboard are stored');

    // 5. Every other page renders, and a prompt is edited and saved.
    const lead2 = runs.find((r) => r.model === 'lead-2-article').id;
    const pages = [
      ['#/runs', '#runs-table tbody tr'],
      [`#/runs/${lead1}?filter=lowest`, '#items-table tbody tr'],
      [`#/compare?ids=${lead1},${lead2}`, '#compare-table tbody tr'],
      [`#/diff?a=${lead1}&b=${lead2}`, '#diff-table tbody tr'],
      ['#/catalog/prompts', '#catalog-list tbody tr'],
      ['#/catalog/datasets/news', '#cases tbody tr'],
      ['#/catalog/suites/news-summary', 'pre.text'],
      ['#/rating', '#queues tbody tr'],
      [`#/rating/q/${queue}/results`, '#human-table tbody tr'],
      ['#/models', '#models-table tbody tr'],
      ['#/users', '#users-table tbody tr'],
    ];
    for (const [hash, sel] of pages) {
      await page.goto(`http://127.0.0.1:${srv.port}/${hash}`);
      await page.waitForSelector(sel);
    }
    await page.goto(`http://127.0.0.1:${srv.port}/#/catalog/prompts/summarize-news`);
    await page.waitForSelector('#prompt-editor');
    const doc = JSON.parse(await page.inputValue('#prompt-editor'));
    doc.description = 'Edited in the browser';
    await page.fill('#prompt-editor', JSON.stringify(doc, null, 2));
    await page.fill('#commit-message', 'browser edit');
    await page.click('#save-prompt');
    await waitFor(page, () => document.getElementById('save-status').textContent.startsWith('Saved as v2'));
    const saved = await api(srv, 'GET', '/prompts/summarize-news');
    check(saved.version.version === 2 && saved.doc.description === 'Edited in the browser' &&
      saved.version.author.startsWith('admin'), 'prompt saved with the user as author');
    console.log('ok   every page renders; a prompt edited in the browser is committed');

    check(errors.length === 0, 'no page errors: ' + errors.join('; '));
    console.log('ok   no script errors');
  } finally {
    for (const b of browsers) await b.close();
    if (emb) emb.server.close();
    srv.proc.kill('SIGTERM');
    await new Promise((r) => srv.proc.once('exit', r));
    fs.rmSync(root, { recursive: true, force: true });
    for (const d of profiles) fs.rmSync(d, { recursive: true, force: true });
  }
}

main().then(() => { console.log('5 passed, 0 failed'); }, (e) => {
  console.error('FAIL', e.stack || e);
  process.exit(1);
});
