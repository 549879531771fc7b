import { parseArgs } from 'node:util'
import { bootBench } from './boot.ts'
import { nbdBench } from './nbd.ts'
import { chunksBench } from './chunks.ts'
import { objectsBench } from './objects.ts'
import { repairBench } from './repair.ts'
import { s3Bench } from './s3.ts'

const benches: Record<string, (options: { seconds: number }) => Promise<string>> = {
  nbd: nbdBench,
  objects: objectsBench,
  chunks: chunksBench,
  s3: s3Bench,
  boot: bootBench,
  repair: repairBench
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { seconds: { type: 'string', default: '20' } }
})
const names = positionals.length > 0 ? positionals : Object.keys(benches)
for (const name of names) {
  const bench = benches[name]
  if (bench === undefined) {
    process.stderr.write(`unknown bench '${name}' (have: ${Object.keys(benches).join(', ')})\n`)
    process.exit(2)
  }
  process.stdout.write(`## ${name} (${values.seconds} s per phase, ${new Date().toISOString()})\n`)
  process.stdout.write(await bench({ seconds: Number(values.seconds) }) + '\n')
}
