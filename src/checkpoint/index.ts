export { writeFileAtomic, writeFilesAtomic, type FileContent, type PendingFile } from '../io/atomic.js';
export { FileWriteError } from '../io/write-error.js';
export {
  encodeSafetensors,
  serializeSafetensors,
  writeSafetensors,
  parseSafetensors,
  readSafetensors,
  type SafetensorsEntry,
  type SafetensorsFile,
  type TensorsToWrite,
  type WritableDtype,
  type ReadableDtype,
} from './safetensors.js';
export {
  saveCheckpoint,
  writeStateDict,
  readStateDict,
  readCheckpoint,
  loadCheckpoint,
  checkpointExists,
  checkpointFiles,
  type CheckpointInput,
  type CheckpointData,
  type StateDictFile,
  type CheckpointableOptimizer,
  type LoadCheckpointTarget,
} from './checkpoint.js';
