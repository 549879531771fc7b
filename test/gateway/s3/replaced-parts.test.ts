import test from 'ava'
import { silentLogger } from '../../../lib/logger.ts'
import type { Namespace, ObjectInfo, ObjectPath } from '../../../storage/index.ts'
import { MANIFEST_KEY, removeReplacedParts } from '../../../gateway/s3/multipart-manifest.ts'

/** Which writes free a replaced multipart object's parts, against a store that records deletes. */
function partsStore (parts: string[]): { namespace: Namespace, deleted: string[] } {
  const deleted: string[] = []
  const namespace = {
    async listObjects (_account: string, _container: string, options: { prefix?: string }) {
      return { entries: parts.filter((name) => name.startsWith(options.prefix ?? '')).map((name) => ({ name })), commonPrefixes: [], truncated: false }
    },
    async deleteObject (path: ObjectPath) { deleted.push(`${path.container}:${path.object}`) }
  }
  return { namespace: namespace as unknown as Namespace, deleted }
}

function info (timestamp: bigint, metadata: Record<string, string> = {}): ObjectInfo {
  return { exists: true, deleted: false, timestamp, size: 1, checksum: '', metadata }
}

const PATH: ObjectPath = { account: 'AUTH_a', container: 'b', object: 'k' }
const PARTS = ['u1/00001', 'u1/00002', 'u2/00001']

test('a newer write over a multipart object removes that upload\'s parts, only those', async (t) => {
  const { namespace, deleted } = partsStore(PARTS)
  await removeReplacedParts(namespace, PATH, info(10n, { [MANIFEST_KEY]: 'u1' }), info(20n), silentLogger())
  t.deepEqual(deleted.sort(), ['b+segments:u1/00001', 'b+segments:u1/00002'])
})

test('nothing goes when the replaced object was plain or absent, was this write itself, or is the same upload', async (t) => {
  const cases: Array<[string, ObjectInfo | undefined, ObjectInfo]> = [
    ['absent', undefined, info(20n)],
    ['plain', info(10n), info(20n)],
    ['read after the write landed', info(20n, { [MANIFEST_KEY]: 'u1' }), info(20n)],
    ['a later write', info(30n, { [MANIFEST_KEY]: 'u1' }), info(20n)],
    ['the same upload', info(10n, { [MANIFEST_KEY]: 'u1' }), info(20n, { [MANIFEST_KEY]: 'u1' })]
  ]
  for (const [label, previous, written] of cases) {
    const { namespace, deleted } = partsStore(PARTS)
    await removeReplacedParts(namespace, PATH, previous, written, silentLogger())
    t.deepEqual(deleted, [], label)
  }
})
