/**
 * The `randlab` command line. Each concern registers its subcommands from its own file in
 * `src/cli/commands/`.
 */
import { Command } from 'commander';
import { registerDataCommands } from './commands/data.js';
import { registerTrainCommand } from './commands/train.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerRunsCommand } from './commands/runs.js';
import { registerBenchCommand } from './commands/bench.js';
import { registerAnalyzeCommands } from './commands/analyze.js';
import { registerExperimentCommand } from './commands/experiment.js';
import { registerReportCommand } from './commands/report.js';
import { registerDemoCommand } from './commands/demo.js';
import { registerDevicesCommand } from './commands/devices.js';
import { registerServeCommand } from './commands/serve.js';
import { registerWorkerCommand } from './commands/worker.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('randlab')
    .description(
      'What do neural networks learn when trained on random labels? Experiments, analysis and a training engine.',
    )
    .showHelpAfterError()
    .exitOverride();
  // Subcommand registrations (one line per command module):
  registerDataCommands(program);
  registerTrainCommand(program);
  registerEvalCommand(program);
  registerRunsCommand(program);
  registerBenchCommand(program);
  registerAnalyzeCommands(program);
  registerExperimentCommand(program);
  registerReportCommand(program);
  registerDemoCommand(program);
  registerDevicesCommand(program);
  registerServeCommand(program);
  registerWorkerCommand(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    // commander signals --help/--version through exceptions with exitCode 0.
    const code = (error as { exitCode?: number }).exitCode;
    if (typeof code === 'number' && (error as { code?: string }).code?.startsWith('commander.')) {
      process.exitCode = code;
      return;
    }
    throw error;
  }
}
