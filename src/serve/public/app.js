/**
 * The randlab dashboard: one script, no build step. It reads the page from the URL path and the view's
 * state (filters, grouping, selection, metric, smoothing, axes) from the query string, so a view can be
 * shared by its address. Every text from the server goes into the page as a text node (never as HTML),
 * so a run or config value such as `<script>` shows as text. Charts are Vega-Lite specs the server builds
 * with the report's own chart code (src/report/charts.ts), drawn as SVG by the vega builds it serves.
 */
/* global vega, vegaLite */

const main = document.getElementById('main');
const KEY_METRICS = ['train/loss', 'train/accuracy', 'test/accuracy', 'test_as_train/accuracy'];

/** An element with attributes and children; strings become text nodes. */
function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

async function getJson(url) {
  const response = await fetch(url);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? `${url}: HTTP ${response.status}`);
  return body;
}

/** Replaces the page's content; absent parts (null, false) are left out. */
function show(...parts) {
  main.replaceChildren(...parts.flat().filter((part) => part !== null && part !== undefined && part !== false));
}

const params = () => new URLSearchParams(location.search);

/** Sets query parameters (null deletes) without reloading, then draws the page again. */
function setParams(changes) {
  const next = params();
  for (const [name, value] of Object.entries(changes)) {
    next.delete(name);
    for (const item of [value].flat()) if (item !== null && item !== undefined && item !== '') next.append(name, item);
  }
  history.replaceState(null, '', `${location.pathname}${next.size ? `?${next}` : ''}`);
  void render();
}

function formatNumber(value) {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'number') return String(value);
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 1000 || Math.abs(value) < 0.001 ? value.toExponential(3) : value.toPrecision(4);
}

function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  return hours > 0 ? `${hours}h${String(minutes).padStart(2, '0')}m` : `${minutes}m${String(s % 60).padStart(2, '0')}s`;
}

const runLink = (run) => h('a', { href: `/runs/${run.key}` }, run.id);
const statusCell = (status) => h('td', { class: `status-${status}` }, status);
const VERDICT_CLASS = { reproduced: 'ok', 'not reproduced': 'bad', inconclusive: 'unsure' };

// Charts ---------------------------------------------------------------------------------------------

/** Draws the Vega-Lite spec at `url` into `holder` as SVG; marks it with its number of data points. */
async function drawChart(holder, url) {
  const spec = await getJson(url);
  // Drawn off-page and then swapped in, so a live redraw does not flicker.
  const target = document.createElement('div');
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'svg', container: target });
  await view.runAsync();
  holder.replaceChildren(...target.childNodes);
  view.finalize();
  const values = spec.data?.values ?? [];
  holder.dataset.points = String(values.length);
  holder.dataset.maxX = String(values.reduce((max, v) => Math.max(max, v.x ?? -Infinity), -Infinity));
  holder.dataset.rendered = 'true';
}

/** A titled chart of the curves endpoint, redrawn by `refresh()` (live updates). */
function curveChart(title, query) {
  const holder = h('div', { class: 'plot', 'data-chart': title });
  const box = h('div', { class: 'chart' }, h('h3', {}, title), holder);
  const refresh = () =>
    drawChart(holder, `/api/curves?${query}`).catch((error) =>
      holder.replaceChildren(h('p', { class: 'error' }, error.message)),
    );
  void refresh();
  return { box, refresh };
}

function curveQuery(runs, metric, state) {
  const query = new URLSearchParams({ runs: runs.join(','), metric });
  if (state.get('group')) query.set('group', state.get('group'));
  if (state.get('smooth')) query.set('smooth', state.get('smooth'));
  if (state.get('logx') === '1') query.set('logx', '1');
  if (state.get('logy') === '1') query.set('logy', '1');
  return query;
}

function chartControls(state, { metrics, fields } = {}) {
  const controls = h('div', { class: 'controls' });
  if (metrics)
    controls.append(
      h(
        'label',
        {},
        'metric ',
        select('metric', metrics, state.get('metric') ?? metrics[0], (v) => setParams({ metric: v })),
      ),
    );
  if (fields)
    controls.append(
      h(
        'label',
        {},
        'group by ',
        select('group', ['', ...fields], state.get('group') ?? '', (v) => setParams({ group: v })),
      ),
    );
  const smoothing = h('input', {
    type: 'range',
    name: 'smooth',
    min: 0,
    max: 0.99,
    step: 0.01,
    value: state.get('smooth') ?? 0,
    onchange: (event) => setParams({ smooth: event.target.value === '0' ? null : event.target.value }),
  });
  controls.append(h('label', {}, 'smoothing ', smoothing, ` ${state.get('smooth') ?? 0}`));
  for (const axis of ['logx', 'logy'])
    controls.append(
      h(
        'label',
        {},
        h('input', {
          type: 'checkbox',
          name: axis,
          checked: state.get(axis) === '1',
          onchange: (event) => setParams({ [axis]: event.target.checked ? '1' : null }),
        }),
        ` log ${axis.slice(3)}`,
      ),
    );
  return controls;
}

function select(name, options, value, onChange) {
  return h(
    'select',
    { name, onchange: (event) => onChange(event.target.value) },
    options.map((option) => h('option', { value: option, selected: option === value }, option || '(none)')),
  );
}

// Live updates -------------------------------------------------------------------------------------------

let liveHandlers = [];
const liveBadge = document.getElementById('live');

/** Calls each handler with the events of the page's runs, at most once a 250 ms per handler. */
function onLive(handler) {
  let timer = null;
  const pending = [];
  liveHandlers.push((event) => {
    pending.push(event);
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      handler(pending.splice(0));
    }, 250);
  });
}

function connectLive() {
  const source = new EventSource('/api/events');
  const dispatch = (message) => {
    const event = JSON.parse(message.data);
    window.randlabLastEvent = { ...event, receivedAt: Date.now() };
    for (const handler of liveHandlers) handler(event);
  };
  source.addEventListener('metrics', dispatch);
  source.addEventListener('run', dispatch);
  source.onopen = () => {
    liveBadge.textContent = '● live';
    liveBadge.className = 'on';
  };
  source.onerror = () => {
    liveBadge.textContent = '○ reconnecting';
    liveBadge.className = '';
  };
}

// Pages ------------------------------------------------------------------------------------------------

async function experimentsPage() {
  const experiments = await getJson('/api/experiments');
  const rows = experiments.map((e) =>
    h(
      'tr',
      {},
      h('td', {}, h('a', { href: `/experiments/${e.name}` }, e.name)),
      h('td', {}, e.title),
      h('td', {}, e.paperReference),
      h('td', {}, e.scale),
      h('td', {}, e.seeds.join(', ')),
      h('td', {}, progressBar(e.progress)),
      h('td', {}, e.progress.etaSeconds === null ? '?' : formatSeconds(e.progress.etaSeconds)),
    ),
  );
  show(
    h('h1', {}, 'Experiments'),
    experiments.length === 0
      ? h('p', {}, 'No experiment folder is served. ', h('a', { href: '/runs' }, 'See the runs.'))
      : h(
          'table',
          { id: 'experiments' },
          h(
            'tr',
            {},
            ['experiment', 'title', 'paper', 'scale', 'seeds', 'progress', 'ETA'].map((t) => h('th', {}, t)),
          ),
          rows,
        ),
  );
  onLive((events) => events.some((e) => e.type === 'run') && void render());
}

function progressBar(progress) {
  const finished = progress.counts.finished ?? 0;
  const others = Object.entries(progress.counts)
    .filter(([status]) => status !== 'finished')
    .map(([status, n]) => `${n} ${status}`)
    .join(', ');
  return h(
    'span',
    { class: 'progress-cell' },
    h('span', { class: 'progress' }, h('span', { style: `width:${(100 * finished) / Math.max(1, progress.total)}%` })),
    ` ${finished}/${progress.total} finished${others ? ` (${others})` : ''}`,
  );
}

async function experimentPage(name) {
  const e = await getJson(`/api/experiments/${encodeURIComponent(name)}`);
  const failed = e.runs.filter((r) => r.status === 'failed' || r.status === 'diverged');
  const claimRows = e.claims.map((c) =>
    h(
      'tr',
      { class: VERDICT_CLASS[c.verdict] },
      h('td', {}, h('code', {}, c.id), h('br'), h('small', {}, c.source)),
      h('td', {}, c.statement),
      h('td', {}, c.paperValue),
      h('td', {}, c.measured),
      h('td', { class: 'verdict' }, c.verdict),
      h('td', {}, h('small', {}, c.rule), h('br'), h('em', {}, c.reason)),
    ),
  );
  const runRows = e.runs.map((r) =>
    h(
      'tr',
      {},
      h('td', {}, r.status === 'pending' ? r.id : h('a', { href: `/runs/${e.name}/${r.id}` }, r.id)),
      h('td', {}, r.condition),
      h('td', { class: 'num' }, r.seed),
      h('td', {}, r.kind),
      statusCell(r.status),
      h('td', { class: 'num' }, r.step ?? ''),
      h('td', { class: 'num' }, r.seconds === null ? '' : formatNumber(r.seconds)),
    ),
  );
  show(
    h('h1', {}, e.title),
    h('p', {}, e.description),
    h(
      'table',
      { class: 'meta' },
      [
        ['recipe', e.recipe],
        ['paper', e.paperReference],
        ['scale', e.scale],
        ['seeds', e.seeds.join(', ')],
        ['progress', progressBar(e.progress)],
        ['ETA', e.progress.etaSeconds === null ? '? (no run has finished yet)' : formatSeconds(e.progress.etaSeconds)],
      ].map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))),
    ),
    h('p', {}, h('a', { href: `/runs?experiment=${encodeURIComponent(e.name)}` }, 'runs of this experiment')),
    failed.length > 0 ? rerunButton(e.name, failed.length) : null,
    h('h2', {}, `Claims (from the ${e.claimsFromFinished} finished runs of ${e.progress.total})`),
    e.claimsError ? h('p', { class: 'error' }, `analysis failed: ${e.claimsError}`) : null,
    h(
      'table',
      { id: 'claims' },
      h(
        'tr',
        {},
        ['claim', 'paper says', "paper's value", 'measured', 'verdict', 'rule'].map((t) => h('th', {}, t)),
      ),
      claimRows,
    ),
    e.checks.length ? h('h2', {}, 'Sanity checks') : null,
    e.checks.length
      ? h(
          'table',
          {},
          e.checks.map((c) =>
            h(
              'tr',
              { class: c.passed ? 'ok' : c.required ? 'bad' : 'unsure' },
              h('td', {}, c.name),
              h('td', {}, c.passed ? 'passed' : 'not passed'),
              h('td', {}, c.detail),
            ),
          ),
        )
      : null,
    h('h2', {}, 'Runs'),
    h(
      'table',
      { id: 'plan' },
      h(
        'tr',
        {},
        ['run', 'condition', 'seed', 'kind', 'status', 'step', 'seconds'].map((t) => h('th', {}, t)),
      ),
      runRows,
    ),
  );
  onLive((events) => events.some((ev) => ev.type === 'run' && ev.run.startsWith(`${e.name}/`)) && void render());
}

function rerunButton(name, count) {
  const status = h('span', { id: 'rerun-status' });
  const button = h(
    'button',
    {
      id: 'rerun',
      onclick: async () => {
        if (!confirm(`Re-run the ${count} failed run(s) of ${name}? This runs \`randlab experiment\` on its folder.`))
          return;
        button.disabled = true;
        const response = await fetch(`/api/experiments/${encodeURIComponent(name)}/rerun`, {
          method: 'POST',
          headers: { 'X-Randlab-Confirm': 'rerun' },
        });
        const body = await response.json();
        status.textContent = ` ${body.message ?? body.error}`;
      },
    },
    `Re-run the ${count} failed run(s)`,
  );
  return h('p', {}, button, status);
}

/** Filters are `field=value` (several: all must hold); `experiment` is a field like the config's. */
function runMatches(run, filters) {
  return filters.every((filter) => {
    const at = filter.indexOf('=');
    const field = filter.slice(0, at);
    const value = filter.slice(at + 1);
    const actual = field === 'experiment' ? run.experiment : field === 'status' ? run.status : run.fields[field];
    return String(actual ?? '') === value;
  });
}

/** The config fields whose values differ between the runs (the ones worth a column). */
function varyingFields(runs) {
  const values = new Map();
  for (const run of runs)
    for (const [field, value] of Object.entries(run.fields)) {
      if (!values.has(field)) values.set(field, new Set());
      values.get(field).add(String(value));
    }
  return [...values]
    .filter(([field, set]) => set.size > 1 && field !== 'name')
    .map(([field]) => field)
    .sort();
}

async function runsPage() {
  const state = params();
  const all = await getJson('/api/runs');
  const filters = state.getAll('filter');
  const experiment = state.get('experiment');
  const runs = all.filter((run) => runMatches(run, experiment ? [...filters, `experiment=${experiment}`] : filters));
  const selected = new Set(state.getAll('select'));
  const allFields = [...new Set(all.flatMap((run) => Object.keys(run.fields)))].sort();
  // `?cols=a,b` picks the config columns; by default, the first fields whose values differ between the runs.
  const columns = state.get('cols')?.split(',').filter(Boolean) ?? varyingFields(runs).slice(0, 8);
  const metrics = KEY_METRICS.filter((m) => runs.some((run) => run.metrics[m] !== undefined));
  const group = state.get('group');
  const header = h(
    'tr',
    {},
    ['', 'run', 'experiment', 'status', 'step', ...metrics, ...columns].map((t) => h('th', {}, t)),
  );
  const row = (run) =>
    h(
      'tr',
      { 'data-run': run.key },
      h(
        'td',
        {},
        h('input', {
          type: 'checkbox',
          name: 'select',
          value: run.key,
          checked: selected.has(run.key),
          onchange: (event) => {
            if (event.target.checked) selected.add(run.key);
            else selected.delete(run.key);
            setParams({ select: [...selected] });
          },
        }),
      ),
      h('td', {}, runLink(run)),
      h('td', {}, run.experiment ?? run.source),
      statusCell(run.status),
      h('td', { class: 'num step' }, run.step),
      metrics.map((m) => h('td', { class: 'num' }, formatNumber(run.metrics[m]))),
      columns.map((field) => h('td', {}, formatNumber(run.fields[field]))),
    );
  const groups = new Map();
  for (const run of runs) {
    const key = group ? `${group} = ${formatNumber(run.fields[group] ?? '(none)')}` : '';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(run);
  }
  const body = [...groups].flatMap(([key, members]) => [
    group
      ? h(
          'tr',
          { class: 'group' },
          h('th', { colspan: 5 }, `${key} (${members.length} runs)`),
          metrics.map((m) => h('th', { class: 'num' }, formatNumber(mean(members.map((r) => r.metrics[m]))))),
          columns.map(() => h('th')),
        )
      : null,
    ...members.map(row),
  ]);
  const fieldInput = select(
    'filter-field',
    ['experiment', 'status', ...allFields],
    allFields.includes('condition') ? 'condition' : 'status',
    () => {},
  );
  const valueInput = h('input', { name: 'filter-value', placeholder: 'value' });
  const compareQuery = new URLSearchParams({ runs: [...selected].join(',') });
  if (group) compareQuery.set('group', group);
  show(
    h('h1', {}, `Runs (${runs.length} of ${all.length})`),
    h(
      'div',
      { class: 'controls' },
      h(
        'form',
        {
          id: 'filter-form',
          onsubmit: (event) => {
            event.preventDefault();
            setParams({ filter: [...filters, `${fieldInput.value}=${valueInput.value}`] });
          },
        },
        'filter ',
        fieldInput,
        ' = ',
        valueInput,
        h('button', { type: 'submit' }, 'add'),
      ),
      filters.map((filter) =>
        h(
          'span',
          { class: 'chip' },
          filter,
          h(
            'button',
            { title: 'remove', onclick: () => setParams({ filter: filters.filter((f) => f !== filter) }) },
            '×',
          ),
        ),
      ),
      experiment
        ? h(
            'span',
            { class: 'chip' },
            `experiment=${experiment}`,
            h('button', { onclick: () => setParams({ experiment: null }) }, '×'),
          )
        : null,
      h(
        'label',
        {},
        'group by ',
        select('group', ['', ...allFields], group ?? '', (v) => setParams({ group: v })),
      ),
      selected.size > 0
        ? h('a', { id: 'compare-link', href: `/compare?${compareQuery}` }, `compare ${selected.size} selected`)
        : null,
    ),
    h('table', { id: 'runs' }, header, body),
  );
  onLive((events) => {
    for (const event of events) {
      const cell = main.querySelector(`tr[data-run="${CSS.escape(event.run)}"] td.step`);
      if (event.type === 'run' && !cell) return void render();
      if (cell && event.type === 'metrics')
        cell.textContent = String(Math.max(Number(cell.textContent), ...event.rows.map((r) => r.step)));
      if (event.type === 'run') return void render();
    }
  });
}

function mean(values) {
  const finite = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
  return finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : null;
}

/** The metrics worth a chart: everything but the alignment probe's per-index f and σ values. */
const chartedMetric = (name) => !/\/(f|sigma)\/\d+$/.test(name) && name !== 'experiment/wall_seconds';

/** Losses and accuracies first, then the rest by name. */
function byImportance(a, b) {
  const rank = (name) => (/loss|accuracy/.test(name) ? 0 : 1);
  return rank(a) - rank(b) || a.localeCompare(b);
}

async function runPage(source, id) {
  const state = params();
  const key = `${source}/${id}`;
  const [run, rows] = await Promise.all([getJson(`/api/runs/${key}`), getJson(`/api/runs/${key}/metrics`)]);
  const names = [...new Set(rows.map((r) => r.name))].filter(chartedMetric).sort(byImportance);
  const small = (query) => (query.set('width', '380'), query.set('height', '170'), query);
  const charts = names.map((name) => curveChart(name, small(curveQuery([key], name, state))));
  const fields = Object.entries(run.fields);
  show(
    h('h1', {}, run.id),
    h(
      'p',
      {},
      h('span', { class: `status-${run.status}` }, run.status),
      ` at step ${run.step}, in ${run.source}${run.message ? `: ${run.message}` : ''}`,
      ' · ',
      h('a', { href: `/compare?runs=${encodeURIComponent(key)}` }, 'compare with others'),
    ),
    chartControls(state),
    h('h2', {}, 'Curves'),
    h('div', { id: 'charts' }, charts.length ? charts.map((c) => c.box) : h('p', {}, 'No metric logged yet.')),
    alignmentSection(rows),
    run.images.length ? h('h2', {}, 'Images stored by the analysis') : null,
    run.images.length
      ? h(
          'div',
          { class: 'images' },
          run.images.map((name) =>
            h('figure', {}, h('img', { src: `/files/${key}/${name}`, alt: name }), h('figcaption', {}, name)),
          ),
        )
      : null,
    run.result ? h('h2', {}, 'Result (result.json)') : null,
    run.result ? h('pre', {}, JSON.stringify(run.result, null, 2)) : null,
    h('h2', {}, 'Config'),
    h(
      'table',
      { id: 'config' },
      fields.map(([field, value]) => h('tr', {}, h('th', {}, field), h('td', {}, formatNumber(value)))),
    ),
    h('h2', {}, `Checkpoints (${run.checkpoints.length})`),
    h(
      'table',
      { id: 'checkpoints' },
      h('tr', {}, h('th', {}, 'step'), h('th', {}, 'files')),
      run.checkpoints.map((c) => h('tr', {}, h('td', { class: 'num' }, c.step), h('td', {}, c.files.join(', ')))),
    ),
  );
  onLive((events) => {
    const mine = events.filter((event) => event.run === key);
    if (mine.length === 0) return;
    const newNames = mine
      .flatMap((event) => (event.rows ?? []).map((r) => r.name))
      .filter((n) => chartedMetric(n) && !names.includes(n));
    if (newNames.length > 0 || mine.some((event) => event.type === 'run')) return void render();
    for (const chart of charts) void chart.refresh();
  });
}

/**
 * The alignment probe's record (src/analysis/probe.ts), where the run logged one: f over eigen-index at the
 * last step it was measured. The curves of M against the data and a random basis are among the charts.
 */
function alignmentSection(rows) {
  const f = rows.filter((r) => /^alignment\/.+\/f\/\d+$/.test(r.name) && r.value !== null);
  if (f.length === 0)
    return h(
      'p',
      { class: 'note' },
      'No alignment was recorded during this run (train with the alignment probe, or see `randlab analyze`).',
    );
  const last = Math.max(...f.map((r) => r.step));
  const values = f.filter((r) => r.step === last).map((r) => ({ index: Number(r.name.split('/').at(-1)), f: r.value }));
  const holder = h('div', { class: 'plot', 'data-chart': 'alignment f' });
  const spec = {
    width: 420,
    height: 220,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'index', type: 'quantitative', title: 'eigen-index (ascending σ)' },
      y: { field: 'f', type: 'quantitative' },
    },
  };
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'svg', container: holder });
  void view.runAsync().then(() => (holder.dataset.rendered = 'true'));
  holder.dataset.points = String(values.length);
  return h('div', {}, h('h2', {}, `Alignment: f at step ${last}`), holder);
}

async function comparePage() {
  const state = params();
  const all = await getJson('/api/runs');
  const keys = (state.get('runs') ?? state.getAll('select').join(',')).split(',').filter(Boolean);
  const chosen = all.filter((run) => keys.includes(run.key));
  const metrics = [...new Set(chosen.flatMap((run) => Object.keys(run.metrics)))].filter(chartedMetric).sort();
  const fields = [...new Set(chosen.flatMap((run) => Object.keys(run.fields)))].sort();
  const metric = state.get('metric') ?? (metrics.includes('train/loss') ? 'train/loss' : metrics[0]);
  if (chosen.length === 0) {
    show(
      h('h1', {}, 'Compare'),
      h('p', {}, 'Choose runs on the ', h('a', { href: '/runs' }, 'runs page'), ' and press compare.'),
    );
    return;
  }
  const chart = metric
    ? curveChart(
        state.get('group') ? `${metric}, mean and 95% band by ${state.get('group')}` : metric,
        curveQuery(keys, metric, state),
      )
    : null;
  show(
    h('h1', {}, `Compare ${chosen.length} runs`),
    chartControls(state, { metrics, fields }),
    chart ? chart.box : h('p', {}, 'These runs logged no metric yet.'),
    h(
      'table',
      { id: 'chosen' },
      h(
        'tr',
        {},
        ['run', 'status', 'step', ...KEY_METRICS].map((t) => h('th', {}, t)),
      ),
      chosen.map((run) =>
        h(
          'tr',
          {},
          h('td', {}, runLink(run)),
          statusCell(run.status),
          h('td', { class: 'num' }, run.step),
          KEY_METRICS.map((m) => h('td', { class: 'num' }, formatNumber(run.metrics[m]))),
        ),
      ),
    ),
  );
  onLive((events) => chart && events.some((event) => keys.includes(event.run)) && void chart.refresh());
}

async function render() {
  liveHandlers = [];
  const path = location.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (path.length === 0) await experimentsPage();
    else if (path[0] === 'experiments' && path.length === 2) await experimentPage(path[1]);
    else if (path[0] === 'runs' && path.length === 1) await runsPage();
    else if (path[0] === 'runs' && path.length === 3) await runPage(path[1], path[2]);
    else if (path[0] === 'compare') await comparePage();
    else show(h('p', {}, 'No such page.'));
  } catch (error) {
    show(h('p', { class: 'error' }, error.message));
  }
  document.body.dataset.ready = 'true';
}

connectLive();
void render();
