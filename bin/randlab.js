#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

main(process.argv).catch((error) => {
  console.error(`randlab: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
