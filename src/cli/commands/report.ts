/**
 * `randlab report <experiment-dir>`: (re)writes the experiment's self-contained HTML report, PNGs,
 * claims.json and measurements.csv from the runs that have finished.
 */
import type { Command } from 'commander';
import { reportExperiment } from '../../experiments/experiment.js';
import { findingSentence } from '../../report/findings.js';

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('write the HTML reproduction report (and claims.json, PNG figures) of an experiment folder')
    .argument('<experiment-dir>', 'folder made by `randlab experiment`')
    .action(async (dir: string) => {
      const report = await reportExperiment(dir);
      // The same one sentence a claim as the report's "What was found" and `randlab experiment`'s summary.
      for (const claim of report.claims) process.stdout.write(`${claim.id}: ${findingSentence(claim)}\n`);
      process.stdout.write(`report: ${report.html}\n`);
    });
}
