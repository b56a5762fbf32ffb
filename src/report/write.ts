/**
 * Writes a report folder: `index.html` (self-contained), `claims.json` (the claims table as data),
 * `measurements.csv` (every per-seed number the claims use) and `figures/<id>.png` (one PNG per figure).
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { evaluateClaims, type ClaimResult } from './claims.js';
import { figureSvg, svgToPng } from './figures.js';
import { renderReportHtml } from './html.js';
import { seedCost, secondsPerSeed } from './seed-cost.js';
import type { ReportData } from './types.js';

export interface WrittenReport {
  readonly dir: string;
  readonly html: string;
  readonly claimsJson: string;
  readonly measurementsCsv: string;
  readonly pngs: readonly string[];
  readonly claims: readonly ClaimResult[];
}

export interface ClaimsFile {
  readonly experiment: string;
  readonly scale: string;
  readonly seeds: readonly number[];
  readonly generatedAt: string;
  readonly claims: readonly ClaimResult[];
  /** The experiment's sanity checks (e.g. training from scratch learns). */
  readonly checks: ReportData['checks'];
}

const utf8 = (text: string) => new TextEncoder().encode(text);

export async function writeReport(data: ReportData, dir: string, now: Date = new Date()): Promise<WrittenReport> {
  const ids = new Set<string>();
  for (const figure of data.figures) {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(figure.id))
      throw new Error(`report: figure id '${figure.id}' must be lower-case letters, digits and '-'`);
    if (ids.has(figure.id)) throw new Error(`report: figure id '${figure.id}' is used twice`);
    ids.add(figure.id);
  }
  const perSeed = secondsPerSeed(data.runs, data.seeds.length);
  const claims = evaluateClaims(data.experiment, data.claims, data.measurements).map((claim) => {
    const cost = seedCost(claim, perSeed, data.budget);
    return cost ? { ...claim, cost } : claim;
  });
  const generatedAt = now.toISOString();
  const svgs = new Map<string, string>();
  const pngNames = new Map<string, string>();
  const pngs: string[] = [];
  for (const figure of data.figures) {
    const svg = await figureSvg(figure);
    svgs.set(figure.id, svg);
    const name = `figures/${figure.id}.png`;
    const path = join(dir, name);
    writeFileAtomic(path, [svgToPng(svg)]);
    pngNames.set(figure.id, name);
    pngs.push(path);
  }
  const html = join(dir, 'index.html');
  writeFileAtomic(html, [utf8(renderReportHtml({ data, claims, svgs, pngNames, generatedAt }))]);
  const claimsFile: ClaimsFile = {
    experiment: data.experiment,
    scale: data.scale,
    seeds: data.seeds,
    generatedAt,
    claims,
    checks: data.checks,
  };
  const claimsJson = join(dir, 'claims.json');
  writeFileAtomic(claimsJson, [utf8(`${JSON.stringify(claimsFile, null, 2)}\n`)]);
  const measurementsCsv = join(dir, 'measurements.csv');
  writeFileAtomic(measurementsCsv, [utf8(measurementsToCsv(data))]);
  return { dir, html, claimsJson, measurementsCsv, pngs, claims };
}

function csvCell(value: string | number): string {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function measurementsToCsv(data: ReportData): string {
  const lines = ['condition,seed,metric,value'];
  for (const m of data.measurements) lines.push([m.condition, m.seed, m.metric, m.value].map(csvCell).join(','));
  return `${lines.join('\n')}\n`;
}
