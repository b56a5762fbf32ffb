/**
 * The reproduction report as one self-contained HTML page: styles inline, charts as inline SVG, images
 * as data URIs, no scripts and no external references, so it opens offline in any browser.
 */
import type { ClaimResult } from './claims.js';
import { formatCount, type Evidence } from './evidence.js';
import { escapeXml, svgForHtml } from './figures.js';
import { findingSentence } from './findings.js';
import { formatNumber, type RuleOutcome, type Verdict } from './rules.js';
import type { ReportData, RunRecord, Table } from './types.js';

const VERDICT_CLASS: Record<Verdict, string> = {
  reproduced: 'ok',
  'not reproduced': 'bad',
  inconclusive: 'unsure',
};

const STYLE = `
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid #ccc;padding-bottom:.2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.88em}th,td{border:1px solid #ccc;padding:.3em .5em;vertical-align:top;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.ok{background:#dff3df}.bad{background:#f8dada}.unsure{background:#fff4cc}
.verdict{font-weight:bold;white-space:nowrap}.rule{font-size:.85em;color:#555}
figure{margin:1.5em 0}figcaption{font-size:.9em;color:#444;max-width:900px}
.meta td:first-child{font-weight:bold}.error{color:#a00;font-family:monospace;font-size:.85em}
code{font-size:.9em}`;

const escape = escapeXml;

export interface HtmlInputs {
  readonly data: ReportData;
  readonly claims: readonly ClaimResult[];
  /** SVG text per figure id, in the order of `data.figures`. */
  readonly svgs: ReadonlyMap<string, string>;
  /** PNG file name per figure id (relative to the HTML file). */
  readonly pngNames: ReadonlyMap<string, string>;
  readonly generatedAt: string;
}

export function renderReportHtml(inputs: HtmlInputs): string {
  const { data } = inputs;
  const sections = [
    header(inputs),
    findingsSection(inputs.claims),
    claimsSection(inputs.claims),
    checksSection(data),
    figuresSection(inputs),
    data.tables.length ? `<h2>Statistics</h2>${data.tables.map(renderTable).join('')}` : '',
    settingsSection(data),
    runsSection(data.runs),
    data.notes.length ? `<h2>Notes</h2><ul>${data.notes.map((note) => `<li>${escape(note)}</li>`).join('')}</ul>` : '',
    methodSection(),
  ];
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${escape(data.title)} — randlab reproduction report</title><style>${STYLE}</style></head><body>` +
    sections.join('\n') +
    `</body></html>\n`
  );
}

function header({ data, claims, generatedAt }: HtmlInputs): string {
  const finished = data.runs.filter((run) => run.status === 'finished').length;
  const count = (verdict: Verdict) => claims.filter((claim) => claim.verdict === verdict).length;
  const rows: [string, string][] = [
    ['Experiment', `<code>${escape(data.experiment)}</code>`],
    ['Paper', `Maennel et al. 2020, docs/paper.md ${escape(data.paperReference)}`],
    ['Scale', escape(data.scale)],
    ['Seeds', escape(data.seeds.join(', '))],
    ['Runs', `${finished} finished of ${data.runs.length}`],
    [
      'Claims',
      `${count('reproduced')} reproduced, ${count('not reproduced')} not reproduced, ${count('inconclusive')} inconclusive`,
    ],
    ['Generated', escape(generatedAt)],
  ];
  return (
    `<h1>${escape(data.title)}</h1><p>${escape(data.description)}</p>` +
    `<table class="meta">${rows.map(([k, v]) => `<tr><td>${k}</td><td>${v}</td></tr>`).join('')}</table>`
  );
}

function findingsSection(claims: readonly ClaimResult[]): string {
  if (claims.length === 0) return '';
  const items = claims.map(
    (claim) => `<li class="${VERDICT_CLASS[claim.verdict]}">${escape(findingSentence(claim))}</li>`,
  );
  return `<h2>What was found</h2><ul class="findings">${items.join('')}</ul>`;
}

/** One evidence field of an outcome as a table cell's content; a conjunction's parts one per line. */
function evidenceCell(outcome: RuleOutcome, field: (numbers: Evidence) => string): string {
  if (outcome.parts) return outcome.parts.map((part, i) => `(${i + 1}) ${evidenceCell(part, field)}`).join('<br>');
  return outcome.evidence ? field(outcome.evidence) : '—';
}

const effectField = (numbers: Evidence) =>
  `${escape(formatNumber(numbers.effect))} <small>${escape(numbers.effectIs)}</small>`;

function seedsField({ seedsNeeded }: Evidence): string {
  if ('seeds' in seedsNeeded) return escape(formatCount(seedsNeeded.seeds));
  if ('moreThan' in seedsNeeded) return `&gt; ${escape(formatCount(seedsNeeded.moreThan))}`;
  return `none <small>(${escape(seedsNeeded.never)})</small>`;
}

function claimsSection(claims: readonly ClaimResult[]): string {
  if (claims.length === 0) return '<h2>Claims</h2><p>This experiment tests no claim of docs/paper.md directly.</p>';
  const rows = claims.map(
    (claim) =>
      `<tr class="${VERDICT_CLASS[claim.verdict]}"><td><code>${escape(claim.id)}</code><br><small>${escape(claim.source)}</small></td>` +
      `<td>${escape(claim.statement)}</td><td>${escape(claim.paperValue)}</td><td>${escape(claim.measured)}</td>` +
      `<td>${evidenceCell(claim, effectField)}</td>` +
      `<td class="num">${evidenceCell(claim, (numbers) => escape(formatNumber(numbers.sd)))}</td>` +
      `<td class="num">${evidenceCell(claim, (numbers) => String(numbers.n))}</td>` +
      `<td class="num">${evidenceCell(claim, seedsField)}</td>` +
      `<td class="verdict">${escape(claim.verdict)}</td><td class="rule">${escape(claim.rule)}<br><em>${escape(claim.reason)}</em></td></tr>`,
  );
  return (
    `<h2>Claims</h2><p>Each verdict is computed from the measurements below by the rule in its row; nothing in this table is typed in. ` +
    `Intervals are 95% Student-t intervals over seeds. <em>Seeds for 80% power</em>: how many seeds a paired t-test would need ` +
    `to settle an effect of the observed size and spread (see How verdicts are computed).</p>` +
    `<table><tr><th>Claim</th><th>Paper says</th><th>Paper's value</th><th>Measured</th><th>Effect</th><th>sd</th><th>n</th>` +
    `<th>Seeds for 80% power</th><th>Verdict</th><th>Rule</th></tr>${rows.join('')}</table>`
  );
}

function checksSection(data: ReportData): string {
  if (data.checks.length === 0) return '';
  const rows = data.checks.map((check) => {
    const cls = check.passed ? 'ok' : check.required ? 'bad' : 'unsure';
    const result = check.required ? (check.passed ? 'passed' : 'FAILED') : check.passed ? 'yes' : 'no';
    return `<tr class="${cls}"><td>${escape(check.name)}</td><td>${check.required ? 'required' : 'informative'}</td><td class="verdict">${result}</td><td>${escape(check.detail)}</td></tr>`;
  });
  return (
    `<h2>Sanity checks</h2><p>Required checks must pass for the comparisons to mean anything; informative ones describe the runs.</p>` +
    `<table><tr><th>Check</th><th>Kind</th><th>Result</th><th>Detail</th></tr>${rows.join('')}</table>`
  );
}

function figuresSection({ data, svgs, pngNames }: HtmlInputs): string {
  if (data.figures.length === 0) return '';
  const figures = data.figures.map((figure) => {
    const svg = svgs.get(figure.id);
    if (svg === undefined) throw new Error(`report: figure ${figure.id} has no rendered SVG`);
    const png = pngNames.get(figure.id);
    return (
      `<figure id="fig-${escape(figure.id)}"><h3>${escape(figure.title)}</h3>${svgForHtml(svg)}` +
      `<figcaption>${escape(figure.caption)}${png ? ` (PNG: <code>${escape(png)}</code>)` : ''}</figcaption></figure>`
    );
  });
  return `<h2>Figures</h2>${figures.join('')}`;
}

export function renderTable(table: Table): string {
  const head = table.columns.map((column) => `<th>${escape(column)}</th>`).join('');
  const rows = table.rows.map(
    (row) =>
      `<tr>${row.map((cell) => (typeof cell === 'number' ? `<td class="num">${escape(formatNumber(cell))}</td>` : `<td>${escape(cell)}</td>`)).join('')}</tr>`,
  );
  return (
    `<h3 id="table-${escape(table.id)}">${escape(table.title)}</h3>` +
    (table.caption ? `<p>${escape(table.caption)}</p>` : '') +
    `<table><tr>${head}</tr>${rows.join('')}</table>`
  );
}

function settingsSection(data: ReportData): string {
  if (data.settings.length === 0) return '';
  const rows = data.settings.map(
    (s) => `<tr><td><code>${escape(s.name)}</code></td><td>${escape(s.value)}</td><td>${escape(s.why)}</td></tr>`,
  );
  return `<h2>Settings (scale ${escape(data.scale)})</h2><table><tr><th>Setting</th><th>Value</th><th>Why</th></tr>${rows.join('')}</table>`;
}

function runsSection(runs: readonly RunRecord[]): string {
  const rows = runs.map((run) => {
    const settings = Object.entries(run.settings)
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(', ');
    const seconds = run.seconds === undefined ? '' : formatNumber(run.seconds);
    const error = run.error ? `<div class="error">${escape(run.error)}</div>` : '';
    const cls = run.status === 'finished' ? '' : run.status === 'failed' ? ' class="bad"' : ' class="unsure"';
    return (
      `<tr${cls}><td><code>${escape(run.id)}</code></td><td>${escape(run.condition)}</td><td class="num">${run.seed}</td>` +
      `<td>${escape(run.status)}${error}</td><td class="num">${seconds}</td><td><small>${escape(settings)}</small></td></tr>`
    );
  });
  return (
    `<h2>Runs</h2><p>Every run of the experiment with its settings and sizes; runs are kept in the experiment's run store.</p>` +
    `<table><tr><th>Run</th><th>Condition</th><th>Seed</th><th>Status</th><th>Seconds</th><th>Settings</th></tr>${rows.join('')}</table>`
  );
}

function methodSection(): string {
  return (
    `<h2>How verdicts are computed</h2><ul>` +
    `<li>Each seed is one independent replicate (its own split, random labels and initialisation). Conditions that share a seed are compared pairwise (difference per seed).</li>` +
    `<li>An interval is the 95% Student-t interval of the mean: mean ± t<sub>0.975, n−1</sub>·s/√n with the sample standard deviation s. With fewer than two seeds there is no interval and every verdict is inconclusive.</li>` +
    `<li>Directional claims: interval entirely on the paper's side of the threshold → reproduced; entirely on the other side → not reproduced; otherwise inconclusive. Equivalence claims: interval inside the stated margin → reproduced; entirely outside → not reproduced.</li>` +
    `<li>Seeds for 80% power: the smallest number of seeds at which a two-sided paired t-test at α = 0.05 (an interval that excludes the boundary) would decide with probability 0.8, were the true effect and standard deviation those observed. ` +
    `The effect is the mean (difference) minus the rule's boundary: 0 for directional claims, the threshold for threshold claims, the nearer margin for equivalence claims. ` +
    `Power is computed from the exact noncentral t distribution, as R's <code>power.t.test(type = "paired", strict = TRUE)</code> does. ` +
    `With few seeds the observed effect and spread are themselves uncertain, so the number is a guide, not a promise.</li>` +
    `<li>Training speed: accuracy on the downstream training set against iterations; the area under the curve uses the trapezoid rule with iterations scaled to [0, 1] (the mean accuracy over the run).</li>` +
    `</ul>`
  );
}
