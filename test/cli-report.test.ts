/**
 * `randlab report DIR` rewrites an experiment's report from its folder and prints what was found: one
 * sentence a claim, as the report opens with it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runExperiment } from '../src/experiments/experiment.js';
import { makeTempDir } from './helpers/data-fixtures.js';

const ENTRY = join(import.meta.dirname, 'runs-cli-entry.ts');
const temp = makeTempDir('cli-report');
afterAll(() => temp.cleanup());

describe('randlab report', () => {
  it('prints one finding sentence per claim, as claims.json records the verdicts', async () => {
    const out = join(temp.dir, 'fig20');
    await runExperiment({ recipe: 'fig20-gaussian-fc', scale: 'smoke', out, dataRoot: '/nonexistent' });
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', ENTRY, 'report', out], { encoding: 'utf8' });
    const lines = stdout.trim().split('\n');
    const claims = (JSON.parse(readFileSync(join(out, 'report', 'claims.json'), 'utf8')) as ClaimsFile).claims;
    expect(lines.slice(0, claims.length).map((line) => line.split(': ')[0])).toEqual(claims.map((c) => c.id));
    const verdictWord = { reproduced: 'Reproduced', 'not reproduced': 'Not reproduced', inconclusive: 'Inconclusive' };
    claims.forEach((claim, i) => expect(lines[i]).toMatch(new RegExp(`^${claim.id}: ${verdictWord[claim.verdict]}: `)));
    expect(lines[claims.length]).toBe(`report: ${join(out, 'report', 'index.html')}`);
  }, 120_000);
});

interface ClaimsFile {
  readonly claims: readonly { id: string; verdict: 'reproduced' | 'not reproduced' | 'inconclusive' }[];
}
