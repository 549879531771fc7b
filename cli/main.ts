import { EXIT_FAILURE, EXIT_USAGE, processIO, type CommandIO } from './io.ts'
import { roleCommand } from './role.ts'

const USAGE = `usage: ringstack <command> [options]

commands:
  up                 start the all-in-one cluster (ring, storage nodes, gateway, compute agent) and keep it running
  ring <verb>        build and inspect the placement ring (create, add, remove, set-weight,
                     rebalance, show, validate)
  storage            run one storage node from its config file (--config FILE)
  gateway            run one gateway (S3 API) from its config file (--config FILE)
  compute            run one compute agent (QEMU instances on this host) from its config file (--config FILE)
  volume <verb>      volumes, snapshots and clones (create, clone, list, show, extend, delete,
                     flatten, snapshot create|list|show|delete)
                     attach|detach SERVER VOLUME (live, into a running server)
  image <verb>       Glance-style images (create (uploads), list, show, download, update, delete)
  server <verb>      servers (create, list, show, console, stop, start, reboot, delete)
  flavor <verb>      server sizes (create, list, delete)
  hypervisor <verb>  compute agents the controller places servers on (add, list, remove)
  status             every storage node: up/down, what it holds, its replicator (--ring FILE | --data DIR)
  help               this text

Every command accepts --json for machine-readable output where it prints results.
Exit codes: 0 success, 1 failure (one-line reason on stderr), 2 bad usage.`

type Command = (argv: string[], io: CommandIO) => Promise<number>

/** Each command loads lazily so `ringstack ring show` does not pay for gRPC. */
const commands: Record<string, () => Promise<Command>> = {
  up: async () => (await import('./up.ts')).upCommand,
  ring: async () => (await import('../ring/index.ts')).ringCommand,
  volume: async () => (await import('./volume.ts')).volumeCommand,
  image: async () => (await import('./image.ts')).imageCommand,
  server: async () => (await import('./server.ts')).serverCommand,
  flavor: async () => (await import('./flavor.ts')).flavorCommand,
  hypervisor: async () => (await import('./hypervisor.ts')).hypervisorCommand,
  status: async () => (await import('./status.ts')).statusCommand,
  storage: async () => roleCommand('storage', 'storage node', (await import('../storage/index.ts')).runStorageNode,
    'storage node <id> listening on <host>:<port>'),
  gateway: async () => roleCommand('gateway', 'gateway', (await import('../gateway/index.ts')).runGateway,
    'gateway <id> listening on <host>:<port>'),
  compute: async () => roleCommand('compute', 'compute agent', (await import('../compute/index.ts')).runComputeAgent,
    'compute agent <id> listening on <host>:<port>')
}

export async function main (argv: string[], io: CommandIO = processIO): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.out(USAGE)
    return name === undefined ? EXIT_USAGE : 0
  }
  const load = commands[name]
  if (load === undefined) {
    io.err(`ringstack: unknown command '${name}' (try 'ringstack help')`)
    return EXIT_USAGE
  }
  try {
    return await (await load())(rest, io)
  } catch (err) {
    io.err(`ringstack ${name}: ${err instanceof Error ? err.message : String(err)}`)
    return EXIT_FAILURE
  }
}
