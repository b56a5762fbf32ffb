/**
 * A zero-filled buffer for long-lived tensor state: an ordinary typed array (the native backend's may lie in huge
 * pages).
 */
export function allocateFloat32(length: number): Float32Array {
  return new Float32Array(length);
}
