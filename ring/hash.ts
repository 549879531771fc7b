import xxhash from 'xxhash-wasm'

/** The part of xxhash-wasm the ring uses; one instance can serve many rings. */
export interface Hasher {
  h64Raw (input: Uint8Array, seed?: bigint): bigint
}

export async function createHasher (): Promise<Hasher> {
  return await xxhash()
}

/** murmur3's 32-bit finaliser: cheap, well mixed, for per-(partition, device) scores. */
export function mix32 (x: number): number {
  x ^= x >>> 16
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  x ^= x >>> 16
  return x >>> 0
}

/** A rendezvous score of device `id` for partition `part`, salted by the ring seed. */
export function score (salt: number, part: number, id: number): number {
  return mix32(mix32(salt ^ part) ^ Math.imul(id + 1, 0x9e3779b1))
}
