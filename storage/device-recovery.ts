import { createHash } from 'node:crypto'
import { mkdir, readdir, rename, rm, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../lib/logger.ts'
import type { DevicePaths } from './device.ts'
import { StorageError } from './errors.ts'
import { fileName, parseFileName, type FileName, type Hasher } from './object-file-format.ts'
import { ObjectFileReader } from './object-file-reader.ts'
import type { ObjectIndex } from './object-index.ts'

interface Stats {
  names: number
  reindexed: number
  removedEntries: number
  removedFiles: number
  quarantined: number
}

/**
 * Brings the index back in line with the replica files after the node
 * stopped without a clean shutdown (kill -9, crash, power loss): temp files
 * of unfinished writes go, the newest readable file of each name wins,
 * older files go, unreadable ones are quarantined, and index entries whose
 * file is gone are dropped. Files whose index entry already names them are
 * trusted without being read, so a big device recovers in one listing.
 */
export async function reconcileDevice (paths: DevicePaths, index: ObjectIndex, hasher: Hasher, logger: Logger): Promise<void> {
  const started = Date.now()
  await rm(paths.tmp, { recursive: true, force: true })
  await mkdir(paths.tmp)
  const stats: Stats = { names: 0, reindexed: 0, removedEntries: 0, removedFiles: 0, quarantined: 0 }
  const present = new Set<string>()
  for (const dirName of await readdir(paths.objects)) {
    const partition = Number(dirName)
    if (!/^\d+$/.test(dirName) || partition > 0xffffffff) {
      logger.warn({ dir: dirName }, 'ignoring unexpected entry in objects/')
      continue
    }
    const dir = join(paths.objects, dirName)
    for (const [hash, versions] of await versionsByHash(dir, logger)) {
      stats.names++
      if (await reconcileName(dir, partition, hash, versions, { paths, index, hasher, logger, stats })) {
        present.add(`${partition}/${hash}`)
      }
    }
  }
  for await (const { partition, hash } of index.entries()) {
    if (!present.has(`${partition}/${hash}`)) {
      await index.del(partition, hash)
      stats.removedEntries++
    }
  }
  logger.info({ ...stats, ms: Date.now() - started }, 'device reconciled (no clean-shutdown marker)')
}

async function versionsByHash (dir: string, logger: Logger): Promise<Map<string, FileName[]>> {
  const byHash = new Map<string, FileName[]>()
  for (const name of await readdir(dir)) {
    const parsed = parseFileName(name)
    if (parsed === undefined) {
      logger.warn({ dir, file: name }, 'ignoring unexpected file')
      continue
    }
    const versions = byHash.get(parsed.hash)
    if (versions === undefined) byHash.set(parsed.hash, [parsed])
    else versions.push(parsed)
  }
  for (const versions of byHash.values()) versions.sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : 0))
  return byHash
}

interface Context {
  paths: DevicePaths
  index: ObjectIndex
  hasher: Hasher
  logger: Logger
  stats: Stats
}

/** Returns whether the name still has a replica file. */
async function reconcileName (dir: string, partition: number, hash: string, newestFirst: FileName[],
  { paths, index, hasher, logger, stats }: Context): Promise<boolean> {
  const entry = index.get(partition, hash)
  let kept = false
  for (const version of newestFirst) {
    const file = fileName(version.hash, version.timestamp, version.deleted)
    const path = join(dir, file)
    if (kept) {
      await unlink(path)
      stats.removedFiles++
      continue
    }
    if (entry?.file === file) {
      kept = true
      continue
    }
    try {
      const reader = await ObjectFileReader.open(path, hasher)
      const { meta } = reader
      await reader.close()
      if (meta.timestamp !== version.timestamp || meta.deleted !== version.deleted ||
          createHash('md5').update(meta.name).digest('hex') !== hash) {
        throw new StorageError('Corrupt', `${path}: meta does not match the file name`)
      }
      await index.put(partition, hash, { ...meta, file })
      stats.reindexed++
      kept = true
    } catch (err) {
      if (!(err instanceof StorageError && err.code === 'Corrupt')) throw err
      await rename(path, join(paths.quarantine, `${partition}-${file}`))
      stats.quarantined++
      logger.error({ file: path, reason: err.message }, 'replica quarantined')
    }
  }
  if (!kept && entry !== undefined) {
    await index.del(partition, hash)
    stats.removedEntries++
  }
  return kept
}
