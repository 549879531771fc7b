import { apiCommand, expectArgs } from './api-command.ts'
import type { ApiClient } from './api-client.ts'
import type { CommandIO } from './io.ts'
import { printRecord, printTable, type Json } from './output.ts'

const USAGE = `usage: ringstack hypervisor <command> [--url URL] [--json]     (admin)
  add NAME HOST:PORT    register a compute agent (ringstack compute) with the controller,
                        or point a registered one at a new address
  list                  registered agents, whether they answer, and their free capacity
  remove NAME           unregister an agent that has no servers`

interface Context {
  api: ApiClient
  args: string[]
  json: boolean
  io: CommandIO
}

const COLUMNS = ['hypervisor_hostname', 'ringstack:address', 'state', 'vcpus', 'vcpus_used', 'memory_mb', 'memory_mb_used', 'running_vms'] as const

/** `ringstack hypervisor ...`: the controller's registry of compute agents. */
export const hypervisorCommand = apiCommand<Context>({
  noun: 'hypervisor',
  usage: USAGE,
  options: {},
  context: (base) => base,
  commands: {
    add: async (c) => {
      const [name, address] = expectArgs(c.args, 2, 'ringstack hypervisor add NAME HOST:PORT')
      printRecord(c, (await c.api.compute<{ hypervisor: Json }>('POST', '/os-hypervisors', { hypervisor: { name, address } })).hypervisor)
    },
    list: async (c) => {
      expectArgs(c.args, 0, 'ringstack hypervisor list')
      printTable(c, (await c.api.compute<{ hypervisors: Json[] }>('GET', '/os-hypervisors/detail')).hypervisors, COLUMNS)
    },
    remove: async (c) => {
      const [name] = expectArgs(c.args, 1, 'ringstack hypervisor remove NAME')
      await c.api.compute('DELETE', `/os-hypervisors/${encodeURIComponent(name!)}`)
      if (!c.json) c.io.out(`removed hypervisor ${name}`)
    }
  }
})
