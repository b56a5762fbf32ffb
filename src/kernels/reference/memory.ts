/** A zero-filled buffer for a tensor: an ordinary typed array (the native backend's may lie in huge pages). */
export function allocateFloat32(length: number): Float32Array {
  return new Float32Array(length);
}
