import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ComputeAgentClient } from '../../compute/index.ts'
import { socketRoot } from '../../compute/agent/instance-store.ts'
import { killAndWait, qemuPids, spawnRingstack, type Spawned } from '../helpers/processes.ts'

const READY = /^compute agent \S+ listening on (\S+)$/

/**
 * A real `ringstack compute` process on an ephemeral port with its data in
 * `dir`, and a client for it. kill() is kill -9 (its QEMUs run on);
 * restart() starts a new process on the same data dir.
 */
export class AgentProcess {
  readonly dir: string
  private spawned: Spawned | undefined
  private current: ComputeAgentClient | undefined

  private constructor (dir: string) {
    this.dir = dir
  }

  static async start (dir: string): Promise<AgentProcess> {
    await writeFile(join(dir, 'agent.json'), JSON.stringify({
      id: 'agent-test', port: 0, dataDir: join(dir, 'data'), vcpus: 4, ramMiB: 2048, stopTimeoutMs: 30_000, logLevel: 'debug'
    }))
    const agent = new AgentProcess(dir)
    await agent.restart()
    return agent
  }

  get client (): ComputeAgentClient {
    if (this.current === undefined) throw new Error('the agent is not running')
    return this.current
  }

  get pid (): number {
    return this.spawned!.child.pid!
  }

  /** The agent's log so far, for failure messages. */
  log (): string {
    return this.spawned?.stderr() ?? ''
  }

  async restart (): Promise<void> {
    this.spawned = await spawnRingstack(['compute', '--config', join(this.dir, 'agent.json')], READY, 30_000)
    this.current = new ComputeAgentClient(this.spawned.match[1]!)
  }

  async kill (): Promise<void> {
    this.current?.close()
    this.current = undefined
    if (this.spawned !== undefined) await killAndWait(this.spawned.child, 'SIGKILL')
  }

  /** SIGTERM, then kill -9 any QEMU still running from this agent's data dir (a failed test's leftovers) and remove their sockets. */
  async stop (): Promise<void> {
    this.current?.close()
    this.current = undefined
    if (this.spawned !== undefined) await killAndWait(this.spawned.child, 'SIGTERM')
    for (const pid of await qemuPids(join(this.dir, 'data'))) process.kill(pid, 'SIGKILL')
    await rm(socketRoot(join(this.dir, 'data')), { recursive: true, force: true })
  }
}
