import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { guestImage } from '../guest/guest-image.ts'
import { allInOneForFile, type RunningAllInOne } from '../helpers/all-in-one.ts'
import { qemuPids } from '../helpers/processes.ts'
import { toQcow2 } from '../images/glance.ts'
import { AgentProcess } from './agent-process.ts'

// The compute controller end to end: a real `ringstack up` (storage nodes,
// gateway with the controller, compute agent) driven through the CLI, with
// the test guest booting under TCG. Guest boots cost seconds of CPU each,
// so the tests run one after another and share their servers: A (raw
// image) lives through the whole file, B (qcow2 image) goes through the
// lifecycle and is deleted.

const cluster = allInOneForFile(test)
const STAY = ['--fw-cfg', 'opt/guest/mode=stay']
const MARKER = 'GUEST-BOOT-OK'

/** Nova's server view, as `ringstack server ... --json` prints it. */
interface Server {
  id: string
  name: string
  status: string
  'OS-EXT-SRV-ATTR:host': string
  'ringstack:boot_volume': string
  'ringstack:ssh': string | null
  'os-extended-volumes:volumes_attached': Array<{ id: string }>
  fault?: { message: string }
}
interface Volume { id: string, name: string, status: string }
interface Flavor { id: string, name: string, vcpus: number, ram: number, disk: number }

const images = { raw: '', qcow2: '' }
const servers = { a: '', b: '' }

test.serial.before(async () => {
  const c = cluster()
  const raw = await guestImage()
  const qcow2 = join(c.dir, 'guest.qcow2')
  await toQcow2(raw, qcow2)
  images.raw = String((await c.image<{ id: string }>('create', '--file', raw, '--disk-format', 'raw', 'guest-raw')).id)
  images.qcow2 = String((await c.image<{ id: string }>('create', '--file', qcow2, '--disk-format', 'qcow2', 'guest-qcow2')).id)
})

async function show (id: string): Promise<Server> {
  return await cluster().server<Server>('show', id)
}

async function consoleText (id: string): Promise<string> {
  return (await cluster().server<{ output: string }>('console', id)).output
}

/** Polls the console until `marker` has appeared `times` times; returns the text. */
async function consoleShows (id: string, marker: string, times = 1, timeoutMs = 180_000): Promise<string> {
  for (const until = Date.now() + timeoutMs; ;) {
    const text = await consoleText(id)
    if (text.split(marker).length - 1 >= times) return text
    if (Date.now() > until) throw new Error(`no ${marker} (x${times}) on ${id}'s console in ${timeoutMs} ms:\n${text.slice(-3000)}`)
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

/** The last console line holding `marker`, from the marker on (SeaBIOS's escapes may precede it). */
function line (text: string, marker: string): string {
  const found = text.split('\n').filter((l) => l.includes(marker)).at(-1) ?? ''
  return found.slice(found.indexOf(marker)).trim()
}

async function until (what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !await check();) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}

function instanceDir (c: RunningAllInOne, id: string): string {
  return join(c.dir, 'data', 'compute', 'instances', id)
}

async function volumeNames (): Promise<string[]> {
  return (await cluster().volume<Volume[]>('list')).map((v) => v.name)
}

async function refused (t: ExecutionContext, run: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await t.throwsAsync(run)
  t.regex(err?.message ?? '', message)
}

test.serial('flavors: the defaults are seeded, others are created and deleted', async (t) => {
  const c = cluster()
  const names = (await c.flavor<Flavor[]>('list')).map((f) => f.name)
  t.true(['m1.tiny', 'm1.small', 'm1.medium', 'm1.large'].every((n) => names.includes(n)), names.join(','))
  const flavor = await c.flavor<Flavor>('create', 'test.custom', '--vcpus', '2', '--ram', '192', '--disk', '3')
  t.like(flavor, { name: 'test.custom', vcpus: 2, ram: 192, disk: 3 })
  await refused(t, c.flavor('create', 'test.custom', '--vcpus', '1', '--ram', '128'), /409 .*already exists/)
  await c.flavor('delete', 'test.custom')
  t.false((await c.flavor<Flavor[]>('list')).some((f) => f.name === 'test.custom'))
})

test.serial('bad input is refused with a clear reason and leaves no server or volume behind', async (t) => {
  const c = cluster()
  const volumesBefore = await volumeNames()
  const big = await c.image<{ id: string }>('create', '--file', await guestImage(), '--disk-format', 'raw', '--min-disk', '2', 'guest-min-disk-2')
  await c.flavor('create', 'test.huge', '--vcpus', '1', '--ram', String(64 * 1024 * 1024), '--disk', '1')
  t.teardown(async () => { await c.flavor('delete', 'test.huge').catch(() => {}) })

  await refused(t, c.server('create', '--image', 'no-such-image', '--flavor', 'm1.tiny', 'x'), /no image no-such-image/)
  await refused(t, c.server('create', '--image', images.raw, '--flavor', 'no-such-flavor', 'x'), /400 Flavor no-such-flavor could not be found/)
  await refused(t, c.server('create', '--image', big.id, '--flavor', 'm1.tiny', 'x'), /400 Flavor's disk is too small .*min_disk is 2 GiB/)
  await refused(t, c.server('create', '--image', images.raw, '--flavor', 'test.huge', 'x'), /409 No valid host was found: .*compute1: \d+ vCPUs, \d+ MiB free/)
  await refused(t, c.server('create', '--volume', 'no-such-volume', '--flavor', 'm1.tiny', 'x'), /no-such-volume/)
  await refused(t, c.server('create', '--flavor', 'm1.tiny', 'x'), /needs --image or --volume/)
  await refused(t, c.server('create', '--image', images.raw, '--flavor', 'm1.tiny', '--fw-cfg', 'etc/evil=1', 'x'), /400 metadata fw_cfg:etc\/evil/)

  t.deepEqual(await c.server('list'), [])
  t.deepEqual(await volumeNames(), volumesBefore)
})

test.serial('servers boot from a raw and a qcow2 image through the ring: marker on the console, ssh forward reported', async (t) => {
  const c = cluster()
  const [a, b] = await Promise.all([
    c.server<Server>('create', '--image', images.raw, '--flavor', 'm1.tiny', ...STAY, 'vm-a'),
    c.server<Server>('create', '--image', 'guest-qcow2', '--flavor', 'm1.tiny', ...STAY, 'vm-b')
  ])
  servers.a = a.id
  servers.b = b.id
  for (const server of [a, b]) {
    t.is(server.status, 'ACTIVE')
    t.is(server['OS-EXT-SRV-ATTR:host'], 'compute1')
    t.regex(server['ringstack:ssh'] ?? '', /^127\.0\.0\.1:\d+$/)
    t.true((await volumeNames()).includes(`boot-${server.id}`), 'a boot volume cloned from the image')
  }
  for (const server of [a, b]) {
    const text = await consoleShows(server.id, 'GUEST-READY')
    t.true(text.includes(MARKER))
    t.true(line(text, 'GUEST-BLK name=vda').includes(`serial=${server['ringstack:boot_volume'].slice(0, 20)}`), 'the boot disk carries the boot volume id')
  }
  t.deepEqual((await c.server<Server[]>('list')).map((s) => s.name).sort(), ['vm-a', 'vm-b'])
})

test.serial('the compute API speaks Nova: catalog entry, server and flavor shapes, faults by kind, hypervisors', async (t) => {
  const c = cluster()
  const login = await fetch(`${c.endpoint}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: c.adminPassword } } }, scope: { project: { name: 'admin', domain: { id: 'default' } } } } })
  })
  const token = login.headers.get('x-subject-token')!
  const catalog = (await login.json() as { token: { catalog: Array<{ type: string, endpoints: Array<{ url: string }> }> } }).token.catalog
  const compute = catalog.find((s) => s.type === 'compute')!.endpoints[0]!.url
  t.regex(compute, /\/compute\/v2\.1$/)
  const nova = async (method: string, path: string, body?: unknown): Promise<{ status: number, json: any }> => {
    const response = await fetch(`${compute}${path}`, {
      method, headers: { 'x-auth-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await response.text()
    return { status: response.status, json: text === '' ? undefined : JSON.parse(text) }
  }

  const list = await nova('GET', '/servers')
  t.is(list.status, 200)
  t.deepEqual(Object.keys(list.json.servers[0]).sort(), ['id', 'links', 'name'])
  const { json: { server } } = await nova('GET', `/servers/${servers.a}`)
  t.like(server, {
    id: servers.a, status: 'ACTIVE', 'OS-EXT-STS:vm_state': 'active', 'OS-EXT-STS:power_state': 1, 'OS-EXT-SRV-ATTR:host': 'compute1',
    image: { id: images.raw }, flavor: { original_name: 'm1.tiny', vcpus: 1, ram: 128, disk: 1 }, tenant_id: server.tenant_id
  })
  t.deepEqual(server.addresses.user[0], { version: 4, addr: '10.0.2.15', 'OS-EXT-IPS:type': 'fixed' })
  t.is(server.fault, undefined)

  const missing = await nova('GET', '/servers/00000000-0000-0000-0000-000000000000')
  t.is(missing.status, 404)
  t.regex(missing.json.itemNotFound.message, /could not be found/)
  const noFlavor = await nova('POST', '/servers', { server: { name: 'x', imageRef: images.raw } })
  t.is(noFlavor.status, 400)
  t.regex(noFlavor.json.badRequest.message, /flavorRef/)
  const twoDisks = await nova('POST', '/servers', { server: { name: 'x', flavorRef: '1', block_device_mapping_v2: [{ boot_index: 0, uuid: 'v', source_type: 'snapshot' }] } })
  t.is(twoDisks.status, 400)
  t.is((await nova('POST', `/servers/${servers.a}/action`, { pause: null })).status, 400)
  const flavors = await nova('GET', '/flavors/detail')
  t.like(flavors.json.flavors.find((f: { name: string }) => f.name === 'm1.tiny'), { id: '1', vcpus: 1, ram: 128, disk: 1, 'os-flavor-access:is_public': true })
  const { json: { hypervisors } } = await nova('GET', '/os-hypervisors/detail')
  t.like(hypervisors[0], { hypervisor_hostname: 'compute1', state: 'up', status: 'enabled', hypervisor_type: 'QEMU', running_vms: 2 })
  t.true(hypervisors[0].vcpus_used >= 2 && hypervisors[0].memory_mb_used >= 256)
  const bogus = await nova('POST', '/os-hypervisors', { hypervisor: { name: 'nowhere', address: '127.0.0.1:1' } })
  t.like(bogus.json.hypervisor, { hypervisor_hostname: 'nowhere', state: 'down' })
  t.is((await nova('DELETE', '/os-hypervisors/nowhere')).status, 202)
  t.is((await nova('DELETE', '/os-hypervisors/compute1')).status, 409, 'a host with servers stays registered')
})

test.serial('a second compute host is registered with ringstack hypervisor add, listed with its capacity, and removed', async (t) => {
  const c = cluster()
  const dir = await mkdtemp(join(tmpdir(), 'rs-hv2-'))
  const agent = await AgentProcess.start(dir)
  t.teardown(async () => {
    await agent.stop()
    await rm(dir, { recursive: true, force: true })
  })
  const added = await c.hypervisor<Record<string, unknown>>('add', 'hv2', agent.client.address)
  t.like(added, { hypervisor_hostname: 'hv2', state: 'up', vcpus: 4, memory_mb: 2048, running_vms: 0 })
  t.deepEqual((await c.hypervisor<Array<{ hypervisor_hostname: string }>>('list')).map((h) => h.hypervisor_hostname).sort(), ['compute1', 'hv2'])
  await c.hypervisor('remove', 'hv2')
  t.deepEqual((await c.hypervisor<Array<{ hypervisor_hostname: string }>>('list')).map((h) => h.hypervisor_hostname), ['compute1'])
})

test.serial('a data volume attached live is written by one guest, refused to a second while attached, then read there', async (t) => {
  const c = cluster()
  const data = await c.volume<Volume>('create', 'data-1', '--size', '64M')
  const serial = `serial=${data.id.slice(0, 20)}`

  const attached = await c.volume<{ device: string, serverId: string }>('attach', 'vm-a', 'data-1')
  t.like(attached, { device: '/dev/vdb', serverId: servers.a })
  const onA = await consoleShows(servers.a, 'GUEST-DATA-OK dev=vdb')
  t.true(line(onA, 'GUEST-BLK name=vdb').includes(serial), 'the guest sees the volume id as the serial')
  const written = /ts=(\d+)/.exec(line(onA, 'GUEST-DATA-OK dev=vdb'))![1]!
  t.deepEqual((await show(servers.a))['os-extended-volumes:volumes_attached'].map((v) => v.id).slice(1), [data.id], 'recorded on the server')
  const shown = await c.volume<Volume & { attachments: Array<{ server_id: string, device: string }> }>('show', 'data-1')
  t.is(shown.status, 'in-use')
  t.like(shown.attachments[0], { server_id: servers.a, device: '/dev/vdb' })
  await refused(t, c.volume('delete', 'data-1'), /409 volume data-1 is attached to server/)

  await refused(t, c.volume('attach', 'vm-b', 'data-1'), /409 volume data-1 .* is attached to server/)
  await refused(t, c.server('create', '--volume', 'data-1', '--flavor', 'm1.tiny', 'vm-x'), /409 volume data-1 .* is attached to server/)

  await c.volume('detach', 'vm-a', 'data-1')
  await consoleShows(servers.a, 'GUEST-HOTPLUG-REMOVE name=vdb')
  await c.volume('attach', 'vm-b', 'data-1')
  const onB = await consoleShows(servers.b, 'GUEST-DATA-OK dev=vdb')
  t.true(line(onB, 'GUEST-BLK name=vdb').includes(serial))
  t.true(line(onB, 'GUEST-DATA-PREV dev=vdb').includes(`ts=${written}`), 'the pattern A wrote is on the volume B sees')
  await refused(t, c.volume('detach', 'vm-a', 'data-1'), /404 volume .* is not attached/)
})

test.serial('stop, start, reboot; a QEMU that dies shows ERROR with a fault; delete leaves no QEMU, lease or owned volume', async (t) => {
  const c = cluster()
  const id = servers.b
  const stopped = await c.server<Server>('stop', 'vm-b')
  t.is(stopped.status, 'SHUTOFF')
  t.deepEqual(await qemuPids(instanceDir(c, id)), [])
  t.is((await c.volume<Volume>('show', 'data-1')).status, 'in-use', 'a stopped server keeps its volumes')
  await refused(t, c.volume('delete', stopped['ringstack:boot_volume']), /409 volume boot-.* is attached to server/)
  await refused(t, c.server('stop', 'vm-b'), /409 Cannot 'stop' instance .* SHUTOFF/)
  t.is((await c.server<Server>('start', 'vm-b')).status, 'ACTIVE')
  await consoleShows(id, 'GUEST-READY', 2)
  t.is((await c.server<Server>('reboot', 'vm-b')).status, 'ACTIVE')
  const rebooted = await consoleShows(id, 'GUEST-READY', 3)
  t.true(line(rebooted, 'GUEST-DATA-PREV dev=vdb').includes('GUEST-DATA'), 'the attached volume is back after stop/start and reboot')

  const [pid] = await qemuPids(instanceDir(c, id))
  process.kill(pid!, 'SIGKILL')
  await until('ERROR after QEMU was killed', async () => (await show(id)).status === 'ERROR')
  t.regex((await show(id)).fault?.message ?? '', /QEMU \(pid \d+\) exited unexpectedly/)

  const boot = (await show(id))['ringstack:boot_volume']
  await c.server('delete', 'vm-b')
  await refused(t, c.server('show', id), /404/)
  t.deepEqual(await qemuPids(instanceDir(c, id)), [])
  t.false((await volumeNames()).includes(`boot-${id}`), 'the boot volume went with the server')
  await refused(t, c.volume('show', boot), /404/)
  t.is((await c.volume<Volume>('show', 'data-1')).status, 'available', 'no lease left on the attached volume')
  await c.volume('attach', 'vm-a', 'data-1')
  await c.volume('detach', 'vm-a', 'data-1')
})

test.serial('a server boots from an existing volume while a storage node is killed; deleting it keeps that volume', async (t) => {
  const c = cluster()
  await c.volume('create', 'bfv-1', '--image', images.raw)
  process.kill(await c.storagePid('node2'), 'SIGKILL')
  const server = await c.server<Server>('create', '--volume', 'bfv-1', '--flavor', 'm1.tiny', 'vm-c')
  t.is(server.status, 'ACTIVE')
  t.true((await consoleShows(server.id, MARKER)).includes('GUEST-MODE mode='))
  await c.server('delete', server.id)
  t.deepEqual(await qemuPids(instanceDir(c, server.id)), [])
  await until('bfv-1 available again', async () => (await c.volume<Volume>('show', 'bfv-1')).status === 'available')
  await c.storageServing('node2')
  await c.volume('delete', 'bfv-1')
})

test.serial('an agent that does not answer shows ERROR, never ACTIVE; one that lost its QEMU reports it; start boots it again', async (t) => {
  const c = cluster()
  const id = servers.a
  const agent = await c.rolePid('compute1')
  process.kill(agent, 'SIGSTOP')
  try {
    const frozen = await show(id)
    t.is(frozen.status, 'ERROR')
    t.regex(frozen.fault?.message ?? '', /compute host compute1 cannot be reached/)
  } finally {
    process.kill(agent, 'SIGCONT')
  }
  t.is((await show(id)).status, 'ACTIVE')

  // The host "crashes": agent and QEMU die together; the restarted agent finds the QEMU gone.
  const [qemu] = await qemuPids(instanceDir(c, id))
  process.kill(await c.rolePid('compute1'), 'SIGKILL')
  process.kill(qemu!, 'SIGKILL')
  await until('the restarted agent reports the crash', async () => {
    const server = await show(id)
    t.not(server.status, 'ACTIVE')
    return /QEMU \(pid \d+\) exited (while the agent was down|unexpectedly)/.test(server.fault?.message ?? '')
  })
  t.is((await c.server<Server>('start', 'vm-a')).status, 'ACTIVE')
  await consoleShows(id, 'GUEST-READY', 2)
})

test.serial('records survive a gateway restart', async (t) => {
  const c = cluster()
  await c.flavor('create', 'test.kept', '--vcpus', '1', '--ram', '128', '--disk', '1')
  const before = await show(servers.a)
  process.kill(await c.rolePid('gateway'), 'SIGKILL')
  await until('the gateway serves again', async () => await c.server('list').then(() => true, () => false))
  const after = await show(servers.a)
  t.like(after, { id: before.id, name: 'vm-a', 'OS-EXT-SRV-ATTR:host': 'compute1', 'ringstack:boot_volume': before['ringstack:boot_volume'], status: 'ACTIVE' })
  t.true((await c.flavor<Flavor[]>('list')).some((f) => f.name === 'test.kept'))
  await c.server('delete', 'vm-a')
  t.deepEqual(await qemuPids(instanceDir(c, before.id)), [])
  t.deepEqual(await c.server('list'), [])
})
