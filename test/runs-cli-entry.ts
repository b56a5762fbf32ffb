/** The CLI as `bin/randlab.js` runs it, but from the TypeScript sources (for tests that spawn it). */
import { main } from '../src/cli/main.js';

main(process.argv).catch((error: unknown) => {
  console.error(`randlab: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
