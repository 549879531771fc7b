import { readdir } from 'node:fs/promises'
import { join } from 'node:path'

/** Chunk replica files under every storage node's devices in an all-in-one data dir. */
export async function countChunkFiles (clusterDir: string): Promise<number> {
  let count = 0
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory()) await walk(join(dir, entry.name))
      else if (entry.isFile()) count++
    }
  }
  for (const node of ['node1', 'node2', 'node3']) await walk(join(clusterDir, 'data', node, 'd1', 'chunks'))
  return count
}
