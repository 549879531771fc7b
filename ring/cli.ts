import { access } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { RingBuilder } from './builder.ts'
import { RingError } from './errors.ts'
import { MAX_PART_POWER, MIN_PART_POWER } from './limits.ts'
import { readBuilderFile, readRingFile, ringPaths, writeBuilderFile, writeRingFile, type RingPaths } from './ring-file.ts'

export interface CommandIo {
  out: (line: string) => void
  err: (line: string) => void
}

const USAGE = `usage: ringstack ring <command> [--ring-dir DIR] [--json]
  create --part-power P --replicas N [--min-part-hours H]   new builder (P ${MIN_PART_POWER}..${MAX_PART_POWER})
  add --region R --zone Z --host H --port N --device NAME --weight W   prints the new id
  remove ID                 mark a device for removal (moves at the next rebalance)
  set-weight ID W           change a device's weight
  rebalance                 move partitions toward the targets; writes the ring
  show                      devices, parts held against targets
  validate                  check the ring; exit 1 listing problems
--ring-dir defaults to $RINGSTACK_RING_DIR or ./data/ring.`

/** Bad command line: exit 2. */
class UsageError extends Error {}

interface Context {
  paths: RingPaths
  json: boolean
  io: CommandIo
  values: Record<string, string | boolean | undefined>
  positionals: string[]
}

const COMMANDS: Record<string, { options: Record<string, 'string' | 'boolean'>, run: (c: Context) => Promise<number> }> = {
  create: { options: { 'part-power': 'string', replicas: 'string', 'min-part-hours': 'string' }, run: create },
  add: { options: { region: 'string', zone: 'string', host: 'string', port: 'string', device: 'string', weight: 'string' }, run: add },
  remove: { options: {}, run: remove },
  'set-weight': { options: {}, run: setWeight },
  rebalance: { options: {}, run: rebalance },
  show: { options: {}, run: show },
  validate: { options: {}, run: validate }
}

/**
 * `ringstack ring ...`: edits the builder in the ring dir and writes the
 * ring file. Returns the exit code: 0 ok, 1 failure (one line on err),
 * 2 bad usage.
 */
export async function ringCommand (argv: string[], io: CommandIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [name, ...rest] = argv
  if (name === 'help' || name === '--help' || name === '-h') {
    io.out(USAGE)
    return 0
  }
  const command = name === undefined ? undefined : COMMANDS[name]
  try {
    if (name === undefined) throw new UsageError('missing command')
    if (command === undefined) throw new UsageError(`unknown command "${name}"`)
    const options = Object.fromEntries(Object.entries(command.options).map(([k, type]) => [k, { type }]))
    let parsed
    try {
      parsed = parseArgs({
        args: rest,
        allowPositionals: true,
        strict: true,
        options: { ...options, 'ring-dir': { type: 'string' }, json: { type: 'boolean' } }
      })
    } catch (err) {
      throw new UsageError((err as Error).message.split('\n')[0]!)
    }
    const ringDir = (parsed.values['ring-dir'] as string | undefined) ?? env.RINGSTACK_RING_DIR ?? './data/ring'
    return await command.run({
      paths: ringPaths(ringDir),
      json: parsed.values.json === true,
      io,
      values: parsed.values,
      positionals: parsed.positionals
    })
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`ringstack ring: ${err.message} (see "ringstack ring help")`)
      return 2
    }
    io.err(`ringstack ring: ${err instanceof Error ? err.message : String(err)}`)
    return 1
  }
}

async function create (c: Context): Promise<number> {
  positionals(c, 0)
  const partPower = integer(required(c, 'part-power'), 'part-power')
  const replicas = integer(required(c, 'replicas'), 'replicas')
  const hours = c.values['min-part-hours']
  const minPartHours = typeof hours === 'string' ? integer(hours, 'min-part-hours') : undefined
  if (await exists(c.paths.builder)) throw new RingError('InvalidArgument', `a builder already exists at ${c.paths.builder}`)
  const builder = RingBuilder.create({ partPower, replicas, minPartHours })
  await writeBuilderFile(c.paths.builder, builder.toState())
  if (c.json) {
    emit(c, { builder: c.paths.builder, partPower, partitions: builder.partitionCount, replicas, minPartHours: builder.minPartHours })
  } else {
    c.io.out(`created ${c.paths.builder}: part power ${partPower} (${builder.partitionCount} partitions), ${replicas} replicas, min_part_hours ${builder.minPartHours}`)
  }
  return 0
}

async function add (c: Context): Promise<number> {
  positionals(c, 0)
  const spec = {
    region: integer(required(c, 'region'), 'region'),
    zone: integer(required(c, 'zone'), 'zone'),
    host: required(c, 'host'),
    port: integer(required(c, 'port'), 'port'),
    device: required(c, 'device'),
    weight: number(required(c, 'weight'), 'weight')
  }
  const builder = await load(c)
  const id = builder.addDevice(spec)
  await writeBuilderFile(c.paths.builder, builder.toState())
  if (c.json) emit(c, { id })
  else c.io.out(String(id))
  return 0
}

async function remove (c: Context): Promise<number> {
  const [idText] = positionals(c, 1)
  const id = integer(idText!, 'ID')
  const builder = await load(c)
  builder.removeDevice(id)
  await writeBuilderFile(c.paths.builder, builder.toState())
  if (c.json) emit(c, { id, removing: true })
  else c.io.out(`device ${id} marked for removal; its partitions move at the next rebalance`)
  return 0
}

async function setWeight (c: Context): Promise<number> {
  const [idText, weightText] = positionals(c, 2)
  const id = integer(idText!, 'ID')
  const weight = number(weightText!, 'W')
  const builder = await load(c)
  builder.setWeight(id, weight)
  await writeBuilderFile(c.paths.builder, builder.toState())
  if (c.json) emit(c, { id, weight })
  else c.io.out(`device ${id} weight ${weight}; takes effect at the next rebalance`)
  return 0
}

async function rebalance (c: Context): Promise<number> {
  positionals(c, 0)
  const builder = await load(c)
  const report = builder.rebalance()
  await writeBuilderFile(c.paths.builder, builder.toState())
  // Compare versions rather than trust `changed`: a crash between the two writes leaves the ring behind.
  const ringVersion = await readRingFile(c.paths.ring).then((r) => r.version, () => 0)
  if (ringVersion !== builder.version) await writeRingFile(c.paths.ring, builder.toRingData())
  for (const warning of report.warnings) c.io.err(`warning: ${warning}`)
  if (c.json) {
    emit(c, report)
  } else if (!report.changed) {
    c.io.out(`nothing to move: ring stays at version ${report.version} (balance ${report.balance}%, dispersion ${report.dispersion}%)`)
  } else {
    c.io.out(`ring version ${report.version}: moved ${report.moved} partition-replicas (minimum ${report.minimumMoves}), ` +
      `balance ${report.balance}%, dispersion ${report.dispersion}%`)
  }
  return 0
}

async function show (c: Context): Promise<number> {
  positionals(c, 0)
  const builder = await load(c)
  const assessment = builder.assess()
  const byId = new Map(assessment.devices.map((d) => [d.id, d]))
  const devices = builder.devices().map((d) => {
    const share = byId.get(d.id)
    return { ...d, parts: share?.parts ?? 0, target: share?.target ?? 0, balance: share?.balance ?? 0 }
  })
  const summary = {
    version: builder.version,
    partPower: builder.partPower,
    partitions: builder.partitionCount,
    replicas: builder.replicas,
    minPartHours: builder.minPartHours,
    balance: assessment.balance,
    dispersion: assessment.dispersion
  }
  if (c.json) {
    emit(c, { ...summary, devices })
    return 0
  }
  c.io.out(`${c.paths.builder}: version ${summary.version}, part power ${summary.partPower} (${summary.partitions} partitions), ` +
    `${summary.replicas} replicas, min_part_hours ${summary.minPartHours}, ${devices.length} devices, ` +
    `balance ${summary.balance}%, dispersion ${summary.dispersion}%`)
  const rows = [['id', 'region', 'zone', 'host:port', 'device', 'weight', 'parts', 'target', 'balance%', '']]
  for (const d of devices) {
    rows.push([String(d.id), String(d.region), String(d.zone), `${d.host}:${d.port}`, d.device, String(d.weight),
      String(d.parts), d.removing ? '-' : String(d.target), d.removing ? '-' : d.balance.toFixed(2), d.removing ? 'removing' : ''])
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  for (const r of rows) c.io.out(r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd())
  return 0
}

async function validate (c: Context): Promise<number> {
  positionals(c, 0)
  const builder = await load(c)
  const problems = builder.validate()
  if (builder.version > 0) {
    const ringVersion = await readRingFile(c.paths.ring).then((r) => r.version, (err: unknown) => err instanceof RingError ? err.message : String(err))
    if (typeof ringVersion === 'string') problems.push(ringVersion)
    else if (ringVersion !== builder.version) problems.push(`ring file is at version ${ringVersion}, builder at ${builder.version}: run rebalance`)
  }
  if (c.json) emit(c, { valid: problems.length === 0, version: builder.version, problems })
  else if (problems.length === 0) c.io.out(`ring version ${builder.version} is valid`)
  else for (const p of problems) c.io.out(p)
  if (problems.length > 0) {
    c.io.err(`ringstack ring: ${problems.length} problem${problems.length === 1 ? '' : 's'} found`)
    return 1
  }
  return 0
}

async function load (c: Context): Promise<RingBuilder> {
  try {
    return RingBuilder.fromState(await readBuilderFile(c.paths.builder))
  } catch (err) {
    if (err instanceof RingError && err.code === 'RingNotFound') {
      throw new RingError('RingNotFound', `no builder at ${c.paths.builder} (run "ringstack ring create" first)`)
    }
    throw err
  }
}

async function exists (path: string): Promise<boolean> {
  return await access(path).then(() => true, () => false)
}

function emit (c: Context, value: unknown): void {
  c.io.out(JSON.stringify(value))
}

function positionals (c: Context, n: number): string[] {
  if (c.positionals.length !== n) {
    throw new UsageError(n === 0 ? `unexpected argument "${c.positionals[0]}"` : `expected ${n} argument${n === 1 ? '' : 's'}, got ${c.positionals.length}`)
  }
  return c.positionals
}

function required (c: Context, name: string): string {
  const v = c.values[name]
  if (typeof v !== 'string') throw new UsageError(`--${name} is required`)
  return v
}

function integer (text: string, name: string): number {
  if (!/^-?\d+$/.test(text)) throw new UsageError(`${name} must be an integer, got "${text}"`)
  return Number(text)
}

function number (text: string, name: string): number {
  const n = Number(text)
  if (text.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${name} must be a number, got "${text}"`)
  return n
}
