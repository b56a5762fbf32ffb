/**
 * Compares two folders of `randlab experiment` for the same recipe and scale, run on different
 * devices (issue 17's check: webgpu gives the cpu's runs and verdicts within tolerance):
 *
 *   npx tsx tools/compare-experiments.ts /tmp/f5c /tmp/f5w [--rtol 1e-3] [--atol 1e-3]
 *
 * - the runs: the run ids in store/ (ids hash the run's config, so equal ids are equal plans): the
 *   same sets when both experiments finished (have a report), B's a subset of A's otherwise;
 * - every logged metric of every run finished in both, step by step, except timings
 *   (images_per_s, experiment/wall_seconds): |a − b| ≤ atol + rtol·|b|;
 * - report/measurements.csv, value by (condition, seed, metric), within the same tolerance, and
 *   report/claims.json, verdict by claim id, where both folders have a report (an interrupted
 *   experiment has none).
 * Prints what it compared and every difference beyond the tolerance; exits 1 if there is any.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Options {
  a: string;
  b: string;
  rtol: number;
  atol: number;
}

const TIMINGS = new Set(['images_per_s', 'experiment/wall_seconds']);

function parseArgs(argv: readonly string[]): Options {
  const usage = 'usage: compare-experiments.ts A B [--rtol X] [--atol X]';
  const folders: string[] = [];
  const options = { rtol: 1e-3, atol: 1e-3 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--rtol' || arg === '--atol') {
      const value = Number(argv[++i]);
      if (!Number.isFinite(value) || value < 0) throw new Error(`${arg} needs a non-negative number (${usage})`);
      options[arg === '--rtol' ? 'rtol' : 'atol'] = value;
    } else folders.push(arg);
  }
  if (folders.length !== 2) throw new Error(usage);
  for (const folder of folders)
    if (!existsSync(join(folder, 'experiment.json')))
      throw new Error(`${folder}: no experiment.json, not a randlab experiment folder`);
  return { a: folders[0]!, b: folders[1]!, ...options };
}

function runIds(folder: string): string[] {
  const store = join(folder, 'store');
  if (!existsSync(store)) return [];
  return readdirSync(store, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

function runStatus(folder: string, id: string): string {
  const file = join(folder, 'store', id, 'run.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { status: string }).status : 'no run.json';
}

/** The run's metrics by "name@step", timings left out. */
function runMetrics(folder: string, id: string): Map<string, number> {
  const file = join(folder, 'store', id, 'metrics.jsonl');
  const metrics = new Map<string, number>();
  if (!existsSync(file)) return metrics;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const { step, name, value } = JSON.parse(line) as { step: number; name: string; value: number };
    if (!TIMINGS.has(name)) metrics.set(`${name}@${step}`, value);
  }
  return metrics;
}

function measurements(folder: string): Map<string, number> | null {
  const file = join(folder, 'report', 'measurements.csv');
  if (!existsSync(file)) return null;
  const [header, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  if (header !== 'condition,seed,metric,value') throw new Error(`${file}: unexpected header ${header}`);
  return new Map(
    lines.map((line) => {
      const cells = line.split(',');
      return [cells.slice(0, 3).join(','), Number(cells[3])];
    }),
  );
}

function verdicts(folder: string): Map<string, string> | null {
  const file = join(folder, 'report', 'claims.json');
  if (!existsSync(file)) return null;
  const { claims } = JSON.parse(readFileSync(file, 'utf8')) as { claims: { id: string; verdict: string }[] };
  return new Map(claims.map((claim) => [claim.id, claim.verdict]));
}

function main(): number {
  const { a, b, rtol, atol } = parseArgs(process.argv.slice(2));
  const problems: string[] = [];
  const within = (x: number, y: number): boolean =>
    (Number.isNaN(x) && Number.isNaN(y)) || Math.abs(x - y) <= atol + rtol * Math.abs(y);

  const [idsA, idsB] = [runIds(a), runIds(b)];
  const complete = existsSync(join(a, 'report')) && existsSync(join(b, 'report'));
  const onlyA = idsA.filter((id) => !idsB.includes(id));
  const onlyB = idsB.filter((id) => !idsA.includes(id));
  // An interrupted experiment has created only some of its runs: each must be one of the other's.
  if (complete) for (const id of onlyA) problems.push(`run ${id} only in ${a}`);
  for (const id of onlyB) problems.push(`run ${id} only in ${b}`);

  let compared = 0;
  let largest = { difference: 0, where: '' };
  const finished = idsA.filter((id) => idsB.includes(id) && runStatus(a, id) === 'finished');
  const unfinished: string[] = [];
  for (const id of finished) {
    if (runStatus(b, id) !== 'finished') {
      unfinished.push(id);
      continue;
    }
    compared++;
    const [metricsA, metricsB] = [runMetrics(a, id), runMetrics(b, id)];
    for (const [key, x] of metricsA) {
      const y = metricsB.get(key);
      if (y === undefined) {
        problems.push(`${id}: ${key} only in ${a}`);
        continue;
      }
      if (Math.abs(x - y) > largest.difference) largest = { difference: Math.abs(x - y), where: `${id} ${key}` };
      if (!within(x, y)) problems.push(`${id}: ${key} ${x} against ${y}`);
    }
  }
  console.log(
    `runs: ${idsA.length} in ${a}, ${idsB.length} in ${b}, ${idsA.length - onlyA.length} in both` +
      `${complete ? '' : ` (${b} unfinished: its runs must be among ${a}'s)`}; ` +
      `${compared} finished in both compared metric by metric (largest difference ${largest.difference.toExponential(2)}, ${largest.where || 'none'})` +
      (unfinished.length > 0 ? `; not finished in ${b}: ${unfinished.join(', ')}` : ''),
  );

  const [measuredA, measuredB] = [measurements(a), measurements(b)];
  if (measuredA && measuredB) {
    for (const [key, x] of measuredA) {
      const y = measuredB.get(key);
      if (y === undefined || !within(x, y)) problems.push(`measurement ${key}: ${x} against ${y ?? 'none'}`);
    }
    console.log(`measurements.csv: ${measuredA.size} values compared`);
  } else console.log('measurements.csv: not in both folders (an interrupted experiment writes no report)');

  const [claimsA, claimsB] = [verdicts(a), verdicts(b)];
  if (claimsA && claimsB) {
    for (const [id, verdict] of claimsA)
      if (claimsB.get(id) !== verdict) problems.push(`claim ${id}: ${verdict} against ${claimsB.get(id) ?? 'none'}`);
    console.log(`claims.json: ${claimsA.size} verdicts compared`);
  } else console.log('claims.json: not in both folders');

  for (const problem of problems) console.log(`DIFFERS ${problem}`);
  console.log(problems.length === 0 ? `agree within atol ${atol} + rtol ${rtol}` : `${problems.length} differences`);
  return problems.length === 0 ? 0 : 1;
}

process.exitCode = main();
