/**
 * Every experiment recipe, by name: one per item of docs/paper.md §3, in the paper's order, then randlab's own
 * experiments on the paper's protocols.
 */
import type { Recipe } from '../recipe.js';
import { criticalStages } from './critical-stages.js';
import { deeperLayers } from './deeper-layers.js';
import { fig1Vgg16Transfer } from './fig1-vgg16-transfer.js';
import { fig20GaussianFc } from './fig20-gaussian-fc.js';
import { fig2Misalignment } from './fig2-misalignment.js';
import { fig3Eigenimages } from './fig3-eigenimages.js';
import { fig4FCurves } from './fig4-f-curves.js';
import { fig5Controls } from './fig5-controls.js';
import { imagenetTransfer } from './imagenet-transfer.js';
import { realVsRandomPretraining } from './real-vs-random-pretraining.js';
import { specialisation } from './specialisation.js';
import { transferMap } from './transfer-map.js';

export const RECIPES: readonly Recipe[] = [
  fig1Vgg16Transfer,
  fig2Misalignment,
  fig3Eigenimages,
  fig4FCurves,
  fig20GaussianFc,
  fig5Controls,
  deeperLayers,
  specialisation,
  criticalStages,
  imagenetTransfer,
  realVsRandomPretraining,
  transferMap,
];

export function recipeNames(): string[] {
  return RECIPES.map((recipe) => recipe.name);
}

export function getRecipe(name: string): Recipe {
  const recipe = RECIPES.find((r) => r.name === name);
  if (!recipe) throw new Error(`unknown experiment '${name}' (available: ${recipeNames().join(', ')})`);
  return recipe;
}
