import { apiCommand, expectArgs, UsageError, wholeNumber } from './api-command.ts'
import type { ApiClient } from './api-client.ts'
import type { CommandIO } from './io.ts'
import { printRecord, printTable, type Json } from './output.ts'

const USAGE = `usage: ringstack flavor <command> [--url URL] [--json]
  create NAME --vcpus N --ram MiB --disk GiB [--id ID]   a server size (admin)
  list
  delete FLAVOR                                          by id or name (admin)
--disk is the boot volume a server made from an image gets (0: the image's size).`

interface Context {
  api: ApiClient
  args: string[]
  json: boolean
  io: CommandIO
  vcpus: number | undefined
  ram: number | undefined
  disk: number | undefined
  id: string | undefined
}

const COLUMNS = ['id', 'name', 'vcpus', 'ram', 'disk'] as const

/** `ringstack flavor ...`: Nova flavors on the gateway's compute API. */
export const flavorCommand = apiCommand<Context>({
  noun: 'flavor',
  usage: USAGE,
  options: { vcpus: { type: 'string' }, ram: { type: 'string' }, disk: { type: 'string' }, id: { type: 'string' } },
  context: (base, values) => ({
    ...base,
    vcpus: wholeNumber(values.vcpus as string | undefined, '--vcpus'),
    ram: wholeNumber(values.ram as string | undefined, '--ram'),
    disk: wholeNumber(values.disk as string | undefined, '--disk'),
    id: values.id as string | undefined
  }),
  commands: {
    create: async (c) => {
      const [name] = expectArgs(c.args, 1, 'ringstack flavor create NAME --vcpus N --ram MiB --disk GiB')
      if (c.vcpus === undefined || c.ram === undefined) throw new UsageError('create needs --vcpus and --ram')
      const { flavor } = await c.api.compute<{ flavor: Json }>('POST', '/flavors',
        { flavor: { name, vcpus: c.vcpus, ram: c.ram, disk: c.disk ?? 0, ...(c.id === undefined ? {} : { id: c.id }) } })
      printRecord(c, flavor)
    },
    list: async (c) => {
      expectArgs(c.args, 0, 'ringstack flavor list')
      printTable(c, (await c.api.compute<{ flavors: Json[] }>('GET', '/flavors/detail')).flavors, COLUMNS)
    },
    delete: async (c) => {
      const [ref] = expectArgs(c.args, 1, 'ringstack flavor delete FLAVOR')
      await c.api.compute('DELETE', `/flavors/${encodeURIComponent(ref!)}`)
      if (!c.json) c.io.out(`deleted flavor ${ref}`)
    }
  }
})

