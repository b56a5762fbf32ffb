/** `--device cpu|webgpu`, as the commands that train or evaluate take it (docs/webgpu.md). */
import { Option } from 'commander';
import { DEVICES } from '../tensor/index.js';

export function deviceOption(description: string): Option {
  return new Option('--device <device>', `${description} (docs/webgpu.md)`).choices([...DEVICES]);
}
