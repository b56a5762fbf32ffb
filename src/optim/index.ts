export {
  Optimizer,
  type NamedParameters,
  type Hyperparameters,
  type OptimizerState,
  type ParameterState,
} from './optimizer.js';
export { SGD, type SgdOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export {
  constantSchedule,
  stepSchedule,
  cosineSchedule,
  withWarmup,
  scheduleFromConfig,
  scheduleConfigSchema,
  type Schedule,
  type ScheduleConfig,
} from './schedules.js';
