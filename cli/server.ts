import { setTimeout as sleep } from 'node:timers/promises'
import { apiCommand, expectArgs, UsageError, wholeNumber } from './api-command.ts'
import { ApiError, type ApiClient } from './api-client.ts'
import { findImage } from './image.ts'
import type { CommandIO } from './io.ts'
import { printRecord, printTable, type Json } from './output.ts'

const USAGE = `usage: ringstack server <command> [--url URL] [--json]
  create NAME --flavor FLAVOR (--image IMAGE | --volume VOLUME) [--fw-cfg opt/NAME=VALUE]... [--no-wait]
                          boot a server from a copy-on-write clone of IMAGE (the server owns
                          it) or from an existing VOLUME; waits until it runs (or fails)
  list                    servers of the project
  show SERVER             one server (id or name)
  console SERVER [--lines N]   the tail of its serial console
  stop SERVER             ACPI power off (forced after the host's timeout)
  start SERVER
  reboot SERVER           a hard reset (boots a stopped server)
  delete SERVER           kills it and deletes the boot volume it was created with
--fw-cfg passes a QEMU fw_cfg entry the guest can read (server metadata fw_cfg:opt/NAME).
Data volumes: ringstack volume attach|detach SERVER VOLUME.`

interface Context {
  api: ApiClient
  args: string[]
  json: boolean
  io: CommandIO
  flavor: string | undefined
  image: string | undefined
  volume: string | undefined
  fwCfg: string[]
  wait: boolean
  lines: number | undefined
}

const COLUMNS = ['id', 'name', 'status', 'host', 'flavor', 'ssh'] as const
/** A boot waits for QEMU to open its disks; well within this. */
const WAIT_MS = 300_000

/** `ringstack server ...`: Nova servers on the gateway's compute API. */
export const serverCommand = apiCommand<Context>({
  noun: 'server',
  usage: USAGE,
  options: {
    flavor: { type: 'string' },
    image: { type: 'string' },
    volume: { type: 'string' },
    'fw-cfg': { type: 'string', multiple: true },
    'no-wait': { type: 'boolean' },
    lines: { type: 'string' }
  },
  context: (base, values) => ({
    ...base,
    flavor: values.flavor as string | undefined,
    image: values.image as string | undefined,
    volume: values.volume as string | undefined,
    fwCfg: (values['fw-cfg'] as string[] | undefined) ?? [],
    wait: values['no-wait'] !== true,
    lines: wholeNumber(values.lines as string | undefined, '--lines')
  }),
  commands: {
    create: async (c) => {
      const [name] = expectArgs(c.args, 1, 'ringstack server create NAME --flavor FLAVOR --image IMAGE | --volume VOLUME')
      if (c.flavor === undefined) throw new UsageError('create needs --flavor')
      if ((c.image === undefined) === (c.volume === undefined)) throw new UsageError('create needs --image or --volume (one of them)')
      const boot = c.image !== undefined
        ? { imageRef: String((await findImage(c.api, c.image)).id) }
        : { block_device_mapping_v2: [{ boot_index: 0, uuid: await volumeId(c.api, c.volume!), source_type: 'volume', destination_type: 'volume', delete_on_termination: false }] }
      const { server } = await c.api.compute<{ server: Json }>('POST', '/servers',
        { server: { name, flavorRef: c.flavor, ...boot, metadata: fwCfgMetadata(c.fwCfg) } })
      show(c, c.wait ? await untilBuilt(c.api, String(server.id)) : server)
    },
    list: async (c) => {
      expectArgs(c.args, 0, 'ringstack server list')
      const { servers } = await c.api.compute<{ servers: Json[] }>('GET', '/servers/detail')
      if (c.json) printTable(c, servers, COLUMNS)
      else printTable(c, servers.map(summary), COLUMNS)
    },
    show: async (c) => {
      const [ref] = expectArgs(c.args, 1, 'ringstack server show SERVER')
      show(c, await findServer(c.api, ref!))
    },
    console: async (c) => {
      const [ref] = expectArgs(c.args, 1, 'ringstack server console SERVER [--lines N]')
      const server = await findServer(c.api, ref!)
      const { output } = await c.api.compute<{ output: string }>('POST', `/servers/${String(server.id)}/action`,
        { 'os-getConsoleOutput': { length: c.lines ?? null } })
      if (c.json) c.io.out(JSON.stringify({ output }))
      else c.io.out(output)
    },
    stop: async (c) => { await act(c, 'stop', { 'os-stop': null }) },
    start: async (c) => { await act(c, 'start', { 'os-start': null }) },
    reboot: async (c) => { await act(c, 'reboot', { reboot: { type: 'HARD' } }) },
    delete: async (c) => {
      const [ref] = expectArgs(c.args, 1, 'ringstack server delete SERVER')
      const server = await findServer(c.api, ref!)
      await c.api.compute('DELETE', `/servers/${String(server.id)}`)
      if (!c.json) c.io.out(`deleted server ${ref}`)
    }
  }
})

/** A server by id, or by a name only one server of the project has. */
export async function findServer (api: ApiClient, ref: string): Promise<Json> {
  try {
    return (await api.compute<{ server: Json }>('GET', `/servers/${encodeURIComponent(ref)}`)).server
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err
  }
  const { servers } = await api.compute<{ servers: Json[] }>('GET', `/servers/detail?name=${encodeURIComponent(ref)}`)
  if (servers.length === 1) return servers[0]!
  throw new ApiError(404, servers.length === 0 ? `404 no server ${ref}` : `${ref} names ${servers.length} servers: use the id`)
}

/** A volume's id from its id or name (the volume API resolves both). */
export async function volumeId (api: ApiClient, ref: string): Promise<string> {
  return String((await api.volume<{ volume: Json }>('GET', `/volumes/${encodeURIComponent(ref)}`)).volume.id)
}

async function act (c: Context, verb: string, body: Json): Promise<void> {
  const [ref] = expectArgs(c.args, 1, `ringstack server ${verb} SERVER`)
  const server = await findServer(c.api, ref!)
  await c.api.compute('POST', `/servers/${String(server.id)}/action`, body)
  show(c, await findServer(c.api, String(server.id)))
}

/** Polls until the server has left BUILD; ERROR fails with its fault. */
async function untilBuilt (api: ApiClient, id: string): Promise<Json> {
  for (const until = Date.now() + WAIT_MS; ;) {
    const server = await findServer(api, id)
    if (server.status === 'ERROR') throw new ApiError(0, `server ${id} failed: ${(server.fault as Json | undefined)?.message as string | undefined ?? 'no fault recorded'}`)
    if (server.status !== 'BUILD') return server
    if (Date.now() > until) throw new ApiError(0, `server ${id} still building after ${WAIT_MS / 1000} s`)
    await sleep(500)
  }
}

function fwCfgMetadata (pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq <= 0) throw new UsageError(`--fw-cfg takes opt/NAME=VALUE, not ${pair}`)
    out[`fw_cfg:${pair.slice(0, eq)}`] = pair.slice(eq + 1)
  }
  return out
}

/** The fields people read, flat. */
function summary (server: Json): Json {
  const flavor = server.flavor as Json
  const image = server.image as Json | ''
  return {
    id: server.id,
    name: server.name,
    status: server.status,
    host: server['OS-EXT-SRV-ATTR:host'],
    flavor: flavor.original_name ?? flavor.id,
    image: image === '' ? null : image.id,
    boot_volume: server['ringstack:boot_volume'],
    volumes: (server['os-extended-volumes:volumes_attached'] as Json[]).map((v) => v.id).join(', '),
    ssh: server['ringstack:ssh'],
    fault: (server.fault as Json | undefined)?.message ?? null,
    created: server.created
  }
}

function show (c: Context, server: Json): void {
  printRecord(c, c.json ? server : summary(server))
}
