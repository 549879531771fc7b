import { setTimeout as sleep } from 'node:timers/promises'
import { apiCommand, expectArgs, UsageError } from './api-command.ts'
import { ApiError, type ApiClient } from './api-client.ts'
import type { CommandIO } from './io.ts'
import { findImage } from './image.ts'
import { findServer, volumeId } from './server.ts'
import { printRecord as printFields, printTable as printRows, type Json } from './output.ts'
import { formatSize, parseSize } from './sizes.ts'

const USAGE = `usage: ringstack volume <command> [--url URL] [--json]
  create NAME --size SIZE [--chunk-size SIZE]   a new, empty (sparse) volume
  create NAME --image IMAGE [--size SIZE]       a copy-on-write volume from an image (instant)
  clone SNAPSHOT NAME [--size SIZE]             a copy-on-write volume from a snapshot (instant)
  list                                          volumes of the project
  show VOLUME                                   one volume (id or name)
  extend VOLUME --size SIZE                     grow a volume
  delete VOLUME
  flatten VOLUME                                copy what a clone shares with its snapshot into it
  attach SERVER VOLUME                          hot-plug the volume into a running server
  detach SERVER VOLUME                          hot-unplug it (the guest lets go first)
  snapshot create VOLUME NAME                   freeze the volume's current contents
  snapshot list [VOLUME]
  snapshot show SNAPSHOT
  snapshot delete SNAPSHOT
SIZE: bytes or with a binary unit (512M, 10G). Volumes are exported over NBD as
nbd://HOST:10809/<volume id or name>, snapshots read-only likewise.
The cluster: --url or RINGSTACK_URL (default http://127.0.0.1:8080); login with
RINGSTACK_USER (admin), RINGSTACK_PASSWORD, RINGSTACK_PROJECT (admin) or OS_*.`


interface Context {
  api: ApiClient
  args: string[]
  size: number | undefined
  chunkSize: number | undefined
  image: string | undefined
  json: boolean
  io: CommandIO
}

const VOLUME_COLUMNS = ['id', 'name', 'size', 'status', 'snapshot_id'] as const
const SNAPSHOT_COLUMNS = ['id', 'name', 'volume_id', 'size', 'status'] as const

const COMMANDS: Record<string, (c: Context) => Promise<void>> = {
  create: async (c) => {
    const [name] = positionals(c, 1, 'create NAME --size SIZE | --image IMAGE')
    if (c.image !== undefined) {
      const image = await findImage(c.api, c.image)
      const { volume } = await c.api.volume<{ volume: Json }>('POST', '/volumes',
        { volume: { name, imageRef: image.id, ...(c.size === undefined ? {} : { 'ringstack:size_bytes': c.size }) } })
      printRecord(c, volume)
      return
    }
    if (c.size === undefined) throw new UsageError('create needs --size (or --image)')
    const { volume } = await c.api.volume<{ volume: Json }>('POST', '/volumes',
      { volume: { name, 'ringstack:size_bytes': c.size, ...(c.chunkSize === undefined ? {} : { 'ringstack:chunk_size': c.chunkSize }) } })
    printRecord(c, volume)
  },
  clone: async (c) => {
    const [snapshot, name] = positionals(c, 2, 'clone SNAPSHOT NAME')
    const { volume } = await c.api.volume<{ volume: Json }>('POST', '/volumes',
      { volume: { name, snapshot_id: snapshot, ...(c.size === undefined ? {} : { 'ringstack:size_bytes': c.size }) } })
    printRecord(c, volume)
  },
  list: async (c) => {
    positionals(c, 0, 'list')
    printTable(c, (await c.api.volume<{ volumes: Json[] }>('GET', '/volumes/detail')).volumes, VOLUME_COLUMNS)
  },
  show: async (c) => {
    const [ref] = positionals(c, 1, 'show VOLUME')
    printRecord(c, (await c.api.volume<{ volume: Json }>('GET', `/volumes/${encodeURIComponent(ref!)}`)).volume)
  },
  extend: async (c) => {
    const [ref] = positionals(c, 1, 'extend VOLUME --size SIZE')
    if (c.size === undefined) throw new UsageError('extend needs --size')
    await c.api.volume('POST', `/volumes/${encodeURIComponent(ref!)}/action`, { 'os-extend': { new_size_bytes: c.size } })
    printRecord(c, (await c.api.volume<{ volume: Json }>('GET', `/volumes/${encodeURIComponent(ref!)}`)).volume)
  },
  delete: async (c) => {
    const [ref] = positionals(c, 1, 'delete VOLUME')
    await c.api.volume('DELETE', `/volumes/${encodeURIComponent(ref!)}`)
    if (!c.json) c.io.out(`deleted volume ${ref}`)
  },
  flatten: async (c) => {
    const [ref] = positionals(c, 1, 'flatten VOLUME')
    const path = `/volumes/${encodeURIComponent(ref!)}`
    await c.api.volume('POST', `${path}/action`, { 'ringstack-flatten': {} })
    // Flatten runs in the background: follow its progress until the volume no longer says flattening.
    for (;;) {
      const { volume } = await c.api.volume<{ volume: Json }>('GET', path)
      const progress = volume['ringstack:flatten_progress'] as { done: number, total: number } | undefined
      if (volume.status !== 'flattening') {
        if (volume.snapshot_id !== null) throw new ApiError(0, `flatten of ${ref} did not finish (see the gateway log)`)
        printRecord(c, volume)
        return
      }
      if (progress !== undefined && !c.json) c.io.err(`flattening ${ref}: ${progress.done}/${progress.total} chunks`)
      await sleep(500)
    }
  },
  attach: async (c) => {
    const [server, volume] = await attachment(c, 'attach SERVER VOLUME')
    const { volumeAttachment } = await c.api.compute<{ volumeAttachment: Json }>('POST', `/servers/${server}/os-volume_attachments`,
      { volumeAttachment: { volumeId: volume } })
    printFields(c, volumeAttachment)
  },
  detach: async (c) => {
    const [server, volume] = await attachment(c, 'detach SERVER VOLUME')
    await c.api.compute('DELETE', `/servers/${server}/os-volume_attachments/${volume}`)
    if (!c.json) c.io.out(`detached volume ${c.args[1]} from server ${c.args[0]}`)
  },
  snapshot: async (c) => {
    const [verb, ...rest] = c.args
    const sub = { ...c, args: rest }
    if (verb === 'create') {
      const [volume, name] = positionals(sub, 2, 'snapshot create VOLUME NAME')
      printRecord(c, (await c.api.volume<{ snapshot: Json }>('POST', '/snapshots', { snapshot: { volume_id: volume, name, force: true } })).snapshot)
    } else if (verb === 'list') {
      const volume = rest[0]
      if (rest.length > 1) throw new UsageError('usage: snapshot list [VOLUME]')
      const query = volume === undefined ? '' : `?volume_id=${encodeURIComponent(volume)}`
      printTable(c, (await c.api.volume<{ snapshots: Json[] }>('GET', `/snapshots/detail${query}`)).snapshots, SNAPSHOT_COLUMNS)
    } else if (verb === 'show') {
      const [ref] = positionals(sub, 1, 'snapshot show SNAPSHOT')
      printRecord(c, (await c.api.volume<{ snapshot: Json }>('GET', `/snapshots/${encodeURIComponent(ref!)}`)).snapshot)
    } else if (verb === 'delete') {
      const [ref] = positionals(sub, 1, 'snapshot delete SNAPSHOT')
      await c.api.volume('DELETE', `/snapshots/${encodeURIComponent(ref!)}`)
      if (!c.json) c.io.out(`deleted snapshot ${ref}`)
    } else {
      throw new UsageError('usage: snapshot create|list|show|delete ...')
    }
  }
}

/** `ringstack volume ...`: talks to the gateway's block-storage API. */
export const volumeCommand = apiCommand<Context>({
  noun: 'volume',
  usage: USAGE,
  commands: COMMANDS,
  options: { size: { type: 'string' }, 'chunk-size': { type: 'string' }, image: { type: 'string' } },
  context: (base, values) => ({
    ...base,
    size: sizeOption(values.size as string | undefined, '--size'),
    chunkSize: sizeOption(values['chunk-size'] as string | undefined, '--chunk-size'),
    image: values.image as string | undefined
  })
})

function sizeOption (text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined
  const size = parseSize(text)
  if (size === undefined || size <= 0) throw new UsageError(`${flag} must be a size such as 4096, 512M or 10G`)
  return size
}

function positionals (c: Context, count: number, usage: string): string[] {
  return expectArgs(c.args, count, `ringstack volume ${usage}`)
}

/** The server's and the volume's ids from what the command line names them by. */
async function attachment (c: Context, usage: string): Promise<[string, string]> {
  const [server, volume] = positionals(c, 2, usage)
  return [String((await findServer(c.api, server!)).id), await volumeId(c.api, volume!)]
}

function cell (record: Json, column: string): unknown {
  return column === 'size' ? formatSize(Number(record['ringstack:size_bytes'] ?? 0)) : record[column]
}

function show (key: string, value: unknown): string {
  return key === 'ringstack:size_bytes' ? `${String(value)} (${formatSize(Number(value))})` : String(value ?? '-')
}

function printTable (c: Context, records: Json[], columns: readonly string[]): void {
  printRows(c, records, columns, cell)
}

function printRecord (c: Context, record: Json): void {
  printFields(c, record, show)
}
