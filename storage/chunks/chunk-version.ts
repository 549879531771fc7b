import type { ChunkVersion } from './chunk-store.ts'

/** Negative when a is older than b, 0 when equal, positive when newer. */
export function compareVersions (a: ChunkVersion, b: ChunkVersion): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.seq - b.seq
}

/** Equality where null (no chunk, or a hole) equals only null. */
export function sameVersion (a: ChunkVersion | null, b: ChunkVersion | null): boolean {
  if (a === null || b === null) return a === b
  return a.epoch === b.epoch && a.seq === b.seq
}

export function formatVersion (version: ChunkVersion | null): string {
  return version === null ? 'none' : `${version.epoch}.${version.seq}`
}
