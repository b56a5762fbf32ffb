/**
 * The `randlab` command line. Each concern registers its subcommands from its own file in
 * `src/cli/commands/`.
 */
import { Command } from 'commander';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('randlab')
    .description('What do neural networks learn when trained on random labels? Experiments, analysis and a training engine.')
    .showHelpAfterError()
    .exitOverride();
  // Subcommand registrations (one line per command module):
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
