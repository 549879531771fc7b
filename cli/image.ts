import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { Readable, Transform, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { apiCommand, expectArgs, UsageError, wholeNumber } from './api-command.ts'
import { ApiError, type ApiClient } from './api-client.ts'
import type { CommandIO } from './io.ts'
import { printRecord, printTable, type Json } from './output.ts'
import { progressReporter } from './progress.ts'

const USAGE = `usage: ringstack image <command> [--url URL] [--json]
  create NAME --file F --disk-format raw|qcow2 [--public] [--min-disk GiB] [--min-ram MiB] [--property K=V ...]
                                         create an image and upload F into it (qcow2 is converted to raw)
  list                                   the project's images and the public ones
  show IMAGE                             one image (id or name)
  download IMAGE [--file F]              its (raw) bytes to F, or to stdout; the checksum is verified
  update IMAGE [--name N] [--public|--private] [--min-disk GiB] [--min-ram MiB] [--property K=V ...] [--remove-property K ...]
  delete IMAGE                           refused while volumes made from it are not flattened
Volumes from an image: ringstack volume create NAME --image IMAGE [--size SIZE].
The cluster: --url or RINGSTACK_URL (default http://127.0.0.1:8080); login with
RINGSTACK_USER (admin), RINGSTACK_PASSWORD, RINGSTACK_PROJECT (admin) or OS_*.`

const PATCH_TYPE = 'application/openstack-images-v2.1-json-patch'
const COLUMNS = ['id', 'name', 'status', 'disk_format', 'size', 'visibility'] as const

interface Options {
  file?: string
  'disk-format'?: string
  public?: boolean
  private?: boolean
  'min-disk'?: string
  'min-ram'?: string
  name?: string
  property?: string[]
  'remove-property'?: string[]
}

interface Context {
  api: ApiClient
  args: string[]
  options: Options
  json: boolean
  io: CommandIO
}

const COMMANDS: Record<string, (c: Context) => Promise<void>> = {
  create: async (c) => {
    const [name] = positionals(c, 1, 'create NAME --file F --disk-format raw|qcow2')
    const { file, 'disk-format': diskFormat } = c.options
    if (file === undefined) throw new UsageError('create needs --file')
    if (diskFormat !== 'raw' && diskFormat !== 'qcow2') throw new UsageError('create needs --disk-format raw or qcow2')
    const size = (await stat(file).catch(() => { throw new ApiError(0, `cannot read ${file}`) })).size
    const image = await c.api.image<Json>('POST', '/images', {
      name, disk_format: diskFormat, container_format: 'bare', visibility: c.options.public === true ? 'public' : 'private',
      min_disk: wholeNumber(c.options['min-disk'], '--min-disk') ?? 0, min_ram: wholeNumber(c.options['min-ram'], '--min-ram') ?? 0, ...properties(c.options)
    })
    const id = String(image.id)
    const progress = progressReporter(`uploading ${name}`, size)
    let sent = 0
    const counting = new Transform({
      transform (piece: Buffer, _encoding, done) {
        sent += piece.length
        progress.update(sent)
        done(null, piece)
      }
    })
    const body = Readable.toWeb(createReadStream(file, { highWaterMark: 1024 * 1024 }).pipe(counting)) as ReadableStream<Uint8Array>
    try {
      await c.api.uploadImage(id, body)
    } finally {
      progress.done()
    }
    printRecord(c, await c.api.image<Json>('GET', `/images/${id}`))
  },
  list: async (c) => {
    positionals(c, 0, 'list')
    printTable(c, (await c.api.image<{ images: Json[] }>('GET', '/images')).images, COLUMNS)
  },
  show: async (c) => {
    const [ref] = positionals(c, 1, 'show IMAGE')
    printRecord(c, await findImage(c.api, ref!))
  },
  download: async (c) => {
    const [ref] = positionals(c, 1, 'download IMAGE [--file F]')
    const image = await findImage(c.api, ref!)
    if (image.status !== 'active') throw new ApiError(0, `image ${ref} is ${String(image.status)}: it has no data`)
    const response = await c.api.downloadImage(String(image.id))
    const md5 = createHash('md5')
    let size = 0
    const verify = new Transform({
      transform (piece: Buffer, _encoding, done) {
        md5.update(piece)
        size += piece.length
        done(null, piece)
      }
    })
    const target = c.options.file === undefined ? stdoutSink() : createWriteStream(c.options.file)
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>), verify, target)
    const checksum = md5.digest('hex')
    if (checksum !== image.checksum) throw new ApiError(0, `downloaded data has md5 ${checksum}, the image says ${String(image.checksum)}`)
    if (c.options.file === undefined) return
    if (c.json) c.io.out(JSON.stringify({ id: image.id, file: c.options.file, size, checksum }, null, 2))
    else c.io.out(`downloaded ${String(image.name ?? image.id)} to ${c.options.file} (${size} bytes, md5 ${checksum})`)
  },
  update: async (c) => {
    const [ref] = positionals(c, 1, 'update IMAGE [options]')
    const image = await findImage(c.api, ref!)
    const patch: Json[] = []
    const replace = (field: string, value: unknown): void => { patch.push({ op: 'replace', path: `/${field}`, value }) }
    if (c.options.name !== undefined) replace('name', c.options.name)
    if (c.options.public === true && c.options.private === true) throw new UsageError('--public or --private, not both')
    if (c.options.public === true) replace('visibility', 'public')
    if (c.options.private === true) replace('visibility', 'private')
    const minDisk = wholeNumber(c.options['min-disk'], '--min-disk')
    if (minDisk !== undefined) replace('min_disk', minDisk)
    const minRam = wholeNumber(c.options['min-ram'], '--min-ram')
    if (minRam !== undefined) replace('min_ram', minRam)
    for (const [key, value] of Object.entries(properties(c.options))) patch.push({ op: 'add', path: `/${pointer(key)}`, value })
    for (const key of c.options['remove-property'] ?? []) patch.push({ op: 'remove', path: `/${pointer(key)}` })
    if (patch.length === 0) throw new UsageError('update needs something to change')
    printRecord(c, await c.api.image<Json>('PATCH', `/images/${String(image.id)}`, patch, PATCH_TYPE))
  },
  delete: async (c) => {
    const [ref] = positionals(c, 1, 'delete IMAGE')
    const image = await findImage(c.api, ref!)
    await c.api.image('DELETE', `/images/${String(image.id)}`)
    if (!c.json) c.io.out(`deleted image ${ref}`)
  }
}

/** `ringstack image ...`: talks to the gateway's image API (Glance v2). */
export const imageCommand = apiCommand<Context>({
  noun: 'image',
  usage: USAGE,
  commands: COMMANDS,
  options: {
    file: { type: 'string' },
    'disk-format': { type: 'string' },
    public: { type: 'boolean' },
    private: { type: 'boolean' },
    'min-disk': { type: 'string' },
    'min-ram': { type: 'string' },
    name: { type: 'string' },
    property: { type: 'string', multiple: true },
    'remove-property': { type: 'string', multiple: true }
  },
  context: (base, values) => ({ ...base, options: values as Options })
})

/** An image by id, or by a name only one visible image has. */
export async function findImage (api: ApiClient, ref: string): Promise<Json> {
  try {
    return await api.image<Json>('GET', `/images/${encodeURIComponent(ref)}`)
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err
  }
  const { images } = await api.image<{ images: Json[] }>('GET', `/images?name=${encodeURIComponent(ref)}`)
  if (images.length === 1) return images[0]!
  throw new ApiError(404, images.length === 0 ? `404 no image ${ref}` : `${ref} names ${images.length} images: use the id`)
}

function positionals (c: Context, n: number, usage: string): string[] {
  return expectArgs(c.args, n, `ringstack image ${usage}`)
}

function properties (options: Options): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of options.property ?? []) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new UsageError(`--property takes KEY=VALUE, not ${pair}`)
    out[pair.slice(0, eq)] = pair.slice(eq + 1)
  }
  return out
}

/** A property name as a JSON pointer segment. */
function pointer (key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1')
}

/** stdout as the end of a pipeline, left open afterwards. */
function stdoutSink (): Writable {
  return new Writable({
    write (piece: Buffer, _encoding, done) {
      if (process.stdout.write(piece)) done()
      else process.stdout.once('drain', () => { done() })
    }
  })
}

