import { StorageError } from '../errors.ts'
import { compareNames, MAX_LIST_LIMIT, newerEntry } from '../listing-order.ts'
import type { CommonPrefix, ListingEntry, ListItem, ListReply } from '../listing-types.ts'
import { asStorageError, type PlacementDevice } from '../object-client/index.ts'
import { readReplicas, type ListingJob } from './listing-job.ts'
import { ReplicaCursor } from './replica-cursor.ts'

export interface MergeQuery {
  prefix: string
  delimiter: string
  marker: string
  endMarker: string
  limit: number
  reverse: boolean
}

export interface MergedPage {
  entries: ListingEntry[]
  commonPrefixes: string[]
  /** More live entries or prefixes follow. */
  truncated: boolean
  /** When truncated: the last entry name or common prefix of this page, the marker for the next. */
  nextMarker?: string
}

/**
 * One page of a listing as the newest state across R replicas, so a name
 * acknowledged by W replicas is always seen (R + W > N). Each replica is
 * walked with tombstones included and the walks merged in name order: the
 * newest version of each name wins and tombstones are dropped, fetching on
 * past them until the page has `limit` live items or the listing ends. A
 * common prefix counts as one item; `jobFor` gives a fresh set of
 * candidates for a nested read (see decidePrefix).
 */
export async function mergedList (jobFor: () => ListingJob, query: MergeQuery): Promise<MergedPage> {
  const page: MergedPage = { entries: [], commonPrefixes: [], truncated: false }
  if (query.limit === 0) return page
  const order = query.reverse ? (a: string, b: string) => compareNames(b, a) : compareNames
  const replicas = await ReplicaSet.open(jobFor(), query)
  let last: string | undefined
  for (;;) {
    const heads = await replicas.heads()
    if (heads.length === 0) return page
    const key = heads.map((h) => keyOf(h.item)).reduce((a, b) => (order(b, a) < 0 ? b : a))
    const group = heads.filter((h) => keyOf(h.item) === key)
    for (const head of group) head.cursor.shift()
    replicas.position = key
    const visible = await decide(group.map((h) => h.item), (prefix, first) => laterLive(jobFor, query, prefix, first), order)
    if (visible === undefined) continue
    if (page.entries.length + page.commonPrefixes.length === query.limit) {
      page.truncated = true
      page.nextMarker = last
      return page
    }
    if (visible.kind === 'entry') page.entries.push(visible.entry)
    else page.commonPrefixes.push(key)
    last = key
  }
}

function keyOf (item: ListItem): string {
  return item.kind === 'entry' ? item.entry.name : item.prefix.prefix
}

type Visible = { kind: 'entry', entry: ListingEntry } | { kind: 'prefix' }

/** What the replicas' items for one key add up to: the newest live entry, a live prefix, or nothing. */
async function decide (items: ListItem[], laterLive: (prefix: string, first: string) => Promise<boolean>,
  order: (a: string, b: string) => number): Promise<Visible | undefined> {
  const prefixes = items.flatMap((i) => (i.kind === 'prefix' ? [i.prefix] : []))
  if (prefixes.length > 0) return await decidePrefix(prefixes, laterLive, order) ? { kind: 'prefix' } : undefined
  const newest = items.flatMap((i) => (i.kind === 'entry' ? [i.entry] : [])).reduce(newerEntry)
  return newest.deleted ? undefined : { kind: 'entry', entry: newest }
}

/**
 * Whether a common prefix has a live name under it, merged across replicas.
 * Each replica reported the first live name it holds under the prefix (its
 * witness) and every tombstone before it, so every replica's version of the
 * earliest witness is known: when the newest of those is live, so is the
 * prefix. When it is not (a delete that some replica has not seen yet), the
 * rest of the prefix is read merged, without rolling up, to the first live
 * name. A replica with no witness had only tombstones there.
 */
async function decidePrefix (prefixes: CommonPrefix[], laterLive: (prefix: string, first: string) => Promise<boolean>,
  order: (a: string, b: string) => number): Promise<boolean> {
  const versions = new Map<string, ListingEntry>()
  const witnesses: string[] = []
  for (const prefix of prefixes) {
    for (const entry of [...prefix.shadowed, ...(prefix.witness === undefined ? [] : [prefix.witness])]) {
      const known = versions.get(entry.name)
      versions.set(entry.name, known === undefined ? entry : newerEntry(known, entry))
    }
    if (prefix.witness !== undefined) witnesses.push(prefix.witness.name)
  }
  if (witnesses.length === 0) return false
  const first = witnesses.reduce((a, b) => (order(b, a) < 0 ? b : a))
  if (versions.get(first)?.deleted !== true) return true
  return await laterLive(prefixes[0]!.prefix, first)
}

async function laterLive (jobFor: () => ListingJob, query: MergeQuery, prefix: string, first: string): Promise<boolean> {
  const rest = await mergedList(jobFor, { ...query, prefix, delimiter: '', marker: first, limit: 1 })
  return rest.entries.length > 0
}

/**
 * The R replica walks being merged. A replica that fails mid-listing is
 * replaced by the next candidate, which starts at the merge's position (the
 * last key decided), so nothing already merged is read twice.
 */
class ReplicaSet {
  /** The last key the merge decided: where a stand-in replica starts. */
  position: string
  private readonly job: ListingJob
  private readonly fetchFrom: (device: PlacementDevice, marker: string) => Promise<ListReply>
  private cursors: ReplicaCursor[]

  private constructor (job: ListingJob, query: MergeQuery, cursors: ReplicaCursor[],
    fetchFrom: (device: PlacementDevice, marker: string) => Promise<ListReply>) {
    this.job = job
    this.position = query.marker
    this.cursors = cursors
    this.fetchFrom = fetchFrom
  }

  static async open (job: ListingJob, query: MergeQuery): Promise<ReplicaSet> {
    // One more than the page (to tell whether it is truncated), and not so few that tombstones mean many round trips.
    const limit = Math.min(MAX_LIST_LIMIT, Math.max(query.limit + 1, 64))
    const ask = (marker: string) => ({ ...query, marker, limit, includeDeleted: true })
    const fetchFrom = async (device: PlacementDevice, marker: string): Promise<ListReply> =>
      await job.pool.client(device).listings.list(job.refFor(device), ask(marker), { deadline: Date.now() + job.nodeTimeoutMs })
    const answers = await readReplicas(job, job.readQuorum, async (node, ref, deadline) =>
      await node.list(ref, ask(query.marker), { deadline }))
    const cursors = answers.map((a) => new ReplicaCursor(a.device, async (marker) => await fetchFrom(a.device, marker), a.value))
    return new ReplicaSet(job, query, cursors, fetchFrom)
  }

  /** Every replica's next item (replicas at their end left out). */
  async heads (): Promise<Array<{ cursor: ReplicaCursor, item: ListItem }>> {
    for (;;) {
      const peeked = await Promise.allSettled(this.cursors.map(async (c) => await c.peek()))
      const failed = peeked.flatMap((p, i) => (p.status === 'rejected' ? [{ index: i, error: asStorageError(p.reason) }] : []))
      if (failed.length === 0) {
        return peeked.flatMap((p, i) => (p.status === 'fulfilled' && p.value !== undefined ? [{ cursor: this.cursors[i]!, item: p.value }] : []))
      }
      for (const { index, error } of failed) this.cursors[index] = await this.standIn(this.cursors[index]!, error)
    }
  }

  private async standIn (failed: ReplicaCursor, error: StorageError): Promise<ReplicaCursor> {
    if (error.code === 'Unavailable') this.job.pool.markDown(failed.device)
    this.job.logger.warn({ node: failed.device, err: error.message }, 'listing replica failed mid-listing, standing in another')
    let lastError = error
    for (let device = this.job.candidates.next(); device !== undefined; device = this.job.candidates.next()) {
      if (this.cursors.some((c) => c.device === device)) continue
      try {
        const first = await this.fetchFrom(device, this.position)
        const stand = device
        return new ReplicaCursor(device, async (marker) => await this.fetchFrom(stand, marker), first)
      } catch (err) {
        lastError = asStorageError(err)
        if (lastError.code === 'Unavailable') this.job.pool.markDown(device)
      }
    }
    throw new StorageError('QuorumNotMet', `no replica left to stand in for ${failed.device.host}:${failed.device.port} (${lastError.message})`,
      { cause: lastError })
  }
}
