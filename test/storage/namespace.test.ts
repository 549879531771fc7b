import test from 'ava'
import { silentLogger } from '../../lib/logger.ts'
import { Namespace, StorageError } from '../../storage/index.ts'
import type { ListingClient } from '../../storage/listing-client/index.ts'
import type { ObjectClient } from '../../storage/object-client/index.ts'

/** Namespace's container checks against a listing client that counts its reads. */
function namespaceWith (existing: Set<string>, now: { ms: number }): { namespace: Namespace, reads: () => number } {
  let reads = 0
  const listings = {
    async headContainer (_account: string, container: string) {
      reads++
      if (!existing.has(container)) throw new StorageError('NotFound', `container ${container} not found`)
      return {}
    },
    async putContainer (_account: string, container: string) {
      existing.add(container)
      return { created: true }
    }
  }
  const namespace = new Namespace({ objects: {} as ObjectClient, listings: listings as unknown as ListingClient, logger: silentLogger() },
    { containerCacheMs: 5_000, now: () => now.ms })
  return { namespace, reads: () => reads }
}

test('containerExists trusts a recent answer either way, and creating the container forgets a "no"', async (t) => {
  const now = { ms: 0 }
  const { namespace, reads } = namespaceWith(new Set(['there']), now)
  t.true(await namespace.containerExists('AUTH_a', 'there'))
  t.false(await namespace.containerExists('AUTH_a', 'absent'))
  t.is(reads(), 2)
  t.true(await namespace.containerExists('AUTH_a', 'there'))
  t.false(await namespace.containerExists('AUTH_a', 'absent'))
  t.is(reads(), 2, 'both answers cached')
  now.ms = 5_001
  t.false(await namespace.containerExists('AUTH_a', 'absent'))
  t.is(reads(), 3, 'a "no" expires like a "yes"')
  await namespace.createContainer('AUTH_a', 'absent')
  t.true(await namespace.containerExists('AUTH_a', 'absent'))
})

test('a missing container still fails object operations: the negative cache is only for containerExists', async (t) => {
  const now = { ms: 0 }
  const { namespace } = namespaceWith(new Set(), now)
  t.false(await namespace.containerExists('AUTH_a', 'gone'))
  await t.throwsAsync(namespace.listObjects('AUTH_a', 'gone'), { code: 'NoSuchContainer' })
})
